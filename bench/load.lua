-- wrk script for bench/http.py:
--   wrk ... -s bench/load.lua URL -- PATHS_FILE TOKENS_FILE CALLS_PER_TOKEN THREADS
--
-- Like a set of API clients: each token (one API user) makes CALLS_PER_TOKEN calls in a row, over
-- the paths of PATHS_FILE (one a line, spread over many learners), then the next token takes
-- over. The harness gives a run more tokens than it can use at the fastest rate expected, and
-- fewer calls per token than the rate limit's threshold, so no caller is ever refused. An empty
-- TOKENS_FILE argument ("-") sends no Authorization header. With several wrk threads, thread i
-- takes every THREADS-th token. The summary is written as one JSON line after "BENCH ".

local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  local paths_file, tokens_file = args[1], args[2]
  per_token, threads = tonumber(args[3]), tonumber(args[4])
  local host = wrk.headers["Host"] or (wrk.host .. ":" .. wrk.port)
  heads = {}
  for path in io.lines(paths_file) do
    heads[#heads + 1] = "GET " .. path .. " HTTP/1.1\r\nHost: " .. host .. "\r\n"
  end
  tails = {}
  local line = 0
  if tokens_file ~= "-" then
    for token in io.lines(tokens_file) do
      if line % threads == thread_index then
        tails[#tails + 1] = "Authorization: Zoho-oauthtoken " .. token .. "\r\n\r\n"
      end
      line = line + 1
    end
  end
  if #tails == 0 then
    tails[1] = "\r\n"
  end
  calls = thread_index  -- so that threads start on different paths
end

function request()
  local token = math.floor(calls / per_token) % #tails + 1
  local head = heads[calls % #heads + 1]
  calls = calls + 1
  return head .. tails[token]
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
