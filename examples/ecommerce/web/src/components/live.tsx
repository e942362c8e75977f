"use client";
// App-wide live data: loads /config.json, opens the v1 WebSocket, subscribes
// to the `orders` and `stats` channels once for every page, and shares the
// store, the API client and the realtime client through React context.
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from "react";
import type { ReactNode } from "react";
import { Api } from "@/lib/api";
import { loadConfig, type LoadedConfig } from "@/lib/config";
import { RealtimeClient } from "@/lib/realtime";
import { LiveStore, type LiveState } from "@/lib/store";

interface Live {
  config: LoadedConfig;
  api: Api;
  client: RealtimeClient;
  store: LiveStore;
}

const LiveContext = createContext<Live | null>(null);

declare global {
  interface Window {
    /** Handle for debugging and the browser end-to-end tests. */
    __eventshop?: Live;
  }
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const [live, setLive] = useState<Live | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cleanup: (() => void) | undefined;
    let cancelled = false;
    loadConfig()
      .then((config) => {
        if (cancelled) return;
        const api = new Api(config.config);
        const store = new LiveStore();
        const client = new RealtimeClient(`${config.config.status_ws}/v1/ws`);
        let refresh: ReturnType<typeof setTimeout> | undefined;
        const loadProducts = () =>
          api
            .products()
            .then((p) => store.setProducts(p))
            .catch((e: Error) => store.setProductsError(e.message));
        store.onInventoryChanged = () => {
          if (refresh) clearTimeout(refresh);
          refresh = setTimeout(loadProducts, 150);
        };
        const offInfo = client.onInfo((info) => store.setConnection(info));
        let replaceOrders = false;
        const offOrders = client.subscribe("orders", (ev) => {
          if (ev.kind === "subscribed") replaceOrders = ev.epochChanged;
          else if (ev.kind === "snapshot") {
            store.applyOrdersSnapshot(ev.data, replaceOrders);
            replaceOrders = false;
          } else store.applyOrderUpdate(ev.data);
        });
        const offStats = client.subscribe("stats", (ev) => {
          if (ev.kind === "snapshot" || ev.kind === "update") store.applyStats(ev.data);
          // A snapshot after a reconnect may hide stock moves we missed.
          if (ev.kind === "subscribed" && !ev.recovered) loadProducts();
        });
        client.start();
        loadProducts();
        const value = { config, api, client, store };
        window.__eventshop = value;
        setLive(value);
        cleanup = () => {
          offOrders();
          offStats();
          offInfo();
          client.stop();
          if (refresh) clearTimeout(refresh);
        };
      })
      .catch((e: Error) => setError(e.message));
    return () => {
      cancelled = true;
      cleanup?.();
    };
  }, []);

  if (error) {
    return (
      <p role="alert" className="m-6 rounded border border-red-300 bg-red-50 p-4 text-red-800">
        Could not start: {error}
      </p>
    );
  }
  if (!live) {
    return (
      <p className="m-6 text-slate-500" aria-live="polite">
        Loading…
      </p>
    );
  }
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

export function useLiveContext(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error("useLiveContext outside LiveProvider");
  return live;
}

/** A slice of the live state; `select` must return a part of the state, not a new object. */
export function useLive<T>(select: (s: LiveState) => T): T {
  const { store } = useLiveContext();
  return useSyncExternalStore(store.subscribe, () => select(store.getState()), () => select(store.getState()));
}

/** Current time, refreshed every `ms` (for relative times and the chart). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
