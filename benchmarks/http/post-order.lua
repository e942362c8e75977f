-- wrk script: seed-compatible order intake, POST /order (CONTRACT §4).
--   wrk -t1 -c64 -d10s -s benchmarks/http/post-order.lua http://127.0.0.1:8080
-- Every request is a valid seed order: {"customer_id","product_id","quantity"} with
-- Content-Type application/json, so the order service answers 201 {order_id, ..., status:"created"}.
-- Customers and products vary (product-1..3 of the default catalog, quantity 1..3), so requests
-- are not byte-identical; the requests are formatted once per wrk thread in init() and cycled, so
-- the script itself costs wrk almost nothing per request.
-- Environment (read by init): ORDER_PRODUCTS = comma-separated product ids (default
-- product-1,product-2,product-3).

local pool = {}
local pool_size = 256
local next_index = 1
local thread_counter = 0

function setup(thread)
  thread:set("thread_id", thread_counter)
  thread_counter = thread_counter + 1
end

function init(args)
  local products = {}
  local list = os.getenv("ORDER_PRODUCTS") or "product-1,product-2,product-3"
  for p in string.gmatch(list, "[^,]+") do
    products[#products + 1] = p
  end
  local tid = thread_id or 0
  local headers = { ["Content-Type"] = "application/json" }
  for i = 1, pool_size do
    local body = string.format(
      '{"customer_id":"wrk-%d-%d","product_id":"%s","quantity":%d}',
      tid, i, products[(i - 1) % #products + 1], (i - 1) % 3 + 1)
    pool[i] = wrk.format("POST", "/order", headers, body)
  end
end

function request()
  local r = pool[next_index]
  next_index = next_index % pool_size + 1
  return r
end
