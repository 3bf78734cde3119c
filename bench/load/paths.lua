-- wrk script of bench/load/compare.sh for the paths other than client credentials; BENCH_PATH picks:
--   userinfo    GET with "Authorization: Bearer $BENCH_ACCESS_TOKEN"
--   introspect  POST token=$BENCH_ACCESS_TOKEN with "Authorization: $BENCH_AUTHORIZATION"
--   refresh     POST grant_type=refresh_token with "Authorization: $BENCH_AUTHORIZATION", each
--               refresh token used once: the tokens of $BENCH_REFRESH_FILE (one a line) are dealt
--               to the threads, and each answer's new refresh token goes back to its thread's queue
-- and prints one machine-readable result line when the run is done.

local path = os.getenv("BENCH_PATH") or ""
local authorization = os.getenv("BENCH_AUTHORIZATION") or ""
local access_token = os.getenv("BENCH_ACCESS_TOKEN") or ""

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

if path == "userinfo" then
  wrk.method = "GET"
  wrk.headers["Authorization"] = "Bearer " .. access_token
elseif path == "introspect" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = authorization
  wrk.body = "token=" .. urlencode(access_token)
elseif path == "refresh" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = authorization
else
  error("BENCH_PATH must be userinfo, introspect or refresh")
end

-- Refresh tokens: dealt to the threads in setup (main state), queued per thread.
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
end

local queue, head, tail = {}, 1, 0
local missing = 0

function init(args)
  if path ~= "refresh" then return end
  local file = io.open(os.getenv("BENCH_REFRESH_FILE") or "", "r")
  if file == nil then error("BENCH_REFRESH_FILE must name a file of refresh tokens") end
  local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  local i = 0
  for line in file:lines() do
    if line ~= "" then
      if i % threads == thread_index - 1 then
        tail = tail + 1
        queue[tail] = line
      end
      i = i + 1
    end
  end
  file:close()
end

if path == "refresh" then
  function request()
    local token = "none"
    if head <= tail then
      token = queue[head]
      queue[head] = nil
      head = head + 1
    else
      missing = missing + 1
    end
    return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. urlencode(token))
  end

  function response(status, headers, body)
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token ~= nil then
      tail = tail + 1
      queue[tail] = token
    end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d bytes=%d connect_errors=%d read_errors=%d "
      .. "write_errors=%d status_errors=%d timeouts=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
