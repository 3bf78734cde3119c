-- wrk script of the A/B benchmark's validation paths: GET /userinfo with a bearer token, or
-- POST /introspect of that token with client_secret_basic (BENCH_PATH selects), and one
-- machine-readable result line when the run is done.

local path = os.getenv("BENCH_PATH") or "userinfo"
local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
  error("BENCH_TOKEN must hold an access token")
end

if path == "introspect" then
  local authorization = os.getenv("BENCH_AUTHORIZATION")
  wrk.method = "POST"
  wrk.path = "/introspect"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = authorization
  wrk.body = "token=" .. token
else
  wrk.method = "GET"
  wrk.path = "/userinfo"
  wrk.headers["Authorization"] = "Bearer " .. token
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d bytes=%d connect_errors=%d read_errors=%d "
      .. "write_errors=%d status_errors=%d timeouts=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
