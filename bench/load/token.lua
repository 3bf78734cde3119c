-- wrk script of the load benchmark: POST grant_type=client_credentials to the token endpoint with
-- client_secret_basic, and print one machine-readable result line when the run is done.

local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization == nil or authorization == "" then
  error("BENCH_AUTHORIZATION must hold the Authorization header value")
end
local scope = os.getenv("BENCH_SCOPE") or ""

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = authorization
if scope ~= "" then
  wrk.body = "grant_type=client_credentials&scope=" .. scope:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end)
else
  wrk.body = "grant_type=client_credentials"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d bytes=%d connect_errors=%d read_errors=%d "
      .. "write_errors=%d status_errors=%d timeouts=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
