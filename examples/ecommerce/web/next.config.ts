import type { NextConfig } from "next";

// Static export: `next build` writes plain HTML/JS/CSS into out/, which
// eventshop-ecommerce serves on its UI port next to GET /config.json.
const nextConfig: NextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
