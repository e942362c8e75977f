// Where the APIs are: read from GET /config.json at start-up, so one build
// serves one process, six processes or an ingress. Shape: config.example.json.

export interface AppConfig {
  order_api: string;
  inventory_api: string;
  payment_api: string;
  notification_api: string;
  shipping_api: string;
  status_api: string;
  status_ws: string;
  /**
   * Optional: full URL of a JSON list of dead-lettered events. CONTRACT.md
   * names no such route; without this key the admin page says so and asks
   * nothing (so no 404 shows up in the browser console).
   */
  dead_letters_url?: string;
}

export const CONFIG_KEYS: readonly (keyof AppConfig)[] = [
  "order_api",
  "inventory_api",
  "payment_api",
  "notification_api",
  "shipping_api",
  "status_api",
  "status_ws",
];

const SEED_PORTS: Record<Exclude<keyof AppConfig, "status_ws" | "dead_letters_url">, number> = {
  order_api: 8080,
  inventory_api: 8081,
  payment_api: 8082,
  notification_api: 8083,
  shipping_api: 8084,
  status_api: 8085,
};

/** The seed layout (ports 8080..8085 on the page's host): used when /config.json is missing. */
export function defaultConfig(loc: { protocol: string; hostname: string }): AppConfig {
  const host = loc.hostname.includes(":") ? `[${loc.hostname}]` : loc.hostname;
  const http = loc.protocol === "https:" ? "https" : "http";
  const cfg = {} as AppConfig;
  for (const [k, port] of Object.entries(SEED_PORTS)) cfg[k as keyof AppConfig] = `${http}://${host}:${port}`;
  cfg.status_ws = cfg.status_api.replace(/^http/, "ws");
  return cfg;
}

/**
 * Validates a parsed config.json. `status_ws` may be left out (derived from
 * status_api); every other key must be an http(s) URL. Throws an Error that
 * names the bad key.
 */
export function parseConfig(raw: unknown): AppConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("config.json: expected a JSON object");
  const o = raw as Record<string, unknown>;
  const cfg = {} as AppConfig;
  for (const key of CONFIG_KEYS) {
    let v = o[key];
    if (key === "status_ws" && v === undefined && typeof o.status_api === "string") {
      v = o.status_api.replace(/^http/, "ws");
    }
    if (typeof v !== "string" || v === "") throw new Error(`config.json: "${key}" must be a non-empty string`);
    const want = key === "status_ws" ? /^wss?:\/\//i : /^https?:\/\//i;
    if (!want.test(v)) throw new Error(`config.json: "${key}" must start with ${key === "status_ws" ? "ws:// or wss://" : "http:// or https://"}`);
    cfg[key] = v.replace(/\/+$/, "");
  }
  const dlq = o.dead_letters_url;
  if (dlq !== undefined && dlq !== null && dlq !== "") {
    if (typeof dlq !== "string" || !/^https?:\/\//i.test(dlq)) throw new Error('config.json: "dead_letters_url" must be an http:// or https:// URL');
    cfg.dead_letters_url = dlq;
  }
  return cfg;
}

export interface LoadedConfig {
  config: AppConfig;
  /** Set when /config.json could not be used and the seed layout is assumed. */
  warning?: string;
}

export async function loadConfig(): Promise<LoadedConfig> {
  try {
    const res = await fetch("/config.json", { cache: "no-store" });
    if (!res.ok) throw new Error(`GET /config.json answered ${res.status}`);
    return { config: parseConfig(await res.json()) };
  } catch (e) {
    return {
      config: defaultConfig(window.location),
      warning: `${e instanceof Error ? e.message : String(e)}; assuming the services on ports 8080-8085 of this host.`,
    };
  }
}
