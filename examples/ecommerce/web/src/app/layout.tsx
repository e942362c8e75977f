import type { Metadata, Viewport } from "next";
import "./globals.css";
import { LiveProvider } from "@/components/live";
import { ConfigWarning, Nav } from "@/components/ui";

export const metadata: Metadata = {
  title: "eventshop – live orders",
  description: "Event-driven e-commerce demo: live dashboard, ordering and real-time order tracking",
  icons: { icon: "data:," },
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2">
          Skip to content
        </a>
        <LiveProvider>
          <Nav />
          <ConfigWarning />
          <main id="main" className="mx-auto max-w-7xl px-4 py-6">
            {children}
          </main>
        </LiveProvider>
      </body>
    </html>
  );
}
