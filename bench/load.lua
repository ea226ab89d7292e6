-- wrk script for bench/http.py: `wrk ... -s bench/load.lua URL -- CALLS_FILE THREADS`.
--
-- CALLS_FILE holds one call a line, "path<TAB>token" (token optional). Each wrk thread takes every
-- THREADS-th line, builds its requests once, and sends them round-robin, so every token is used
-- equally often: the harness gives each run enough distinct tokens (API users) that no caller
-- reaches the rate limit. The summary is written as one JSON line after "BENCH ".

local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  local file, threads = args[1], tonumber(args[2])
  calls = {}
  local line_number = 0
  for line in io.lines(file) do
    if line_number % threads == thread_index then
      local path, token = line:match("^([^\t]+)\t?(.*)$")
      local headers = {}
      if token ~= "" then
        headers["Authorization"] = "Zoho-oauthtoken " .. token
      end
      calls[#calls + 1] = wrk.format("GET", path, headers)
    end
    line_number = line_number + 1
  end
  position = 0
end

function request()
  position = position + 1
  if position > #calls then
    position = 1
  end
  return calls[position]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
