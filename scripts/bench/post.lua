-- wrk script for the benchmark's closed-loop runs: POSTs SNS messages, each sent once.
--
--   wrk -t2 -c32 -d<seconds + drain> -s post.lua http://127.0.0.1:PORT -- MESSAGES FIRST PER_THREAD SECONDS
--
-- Thread k (0-based) sends lines [FIRST + k * PER_THREAD, FIRST + (k + 1) * PER_THREAD) of
-- MESSAGES (one JSON body per line) to POST /sns, each once, for SECONDS. After that, or when
-- its slice runs out, it sends GET /healthz instead until wrk stops: so every POST has been
-- answered and counted when wrk cuts its connections, and the count of 200s can be compared
-- exactly with the rows the receiver stored. (wrk.thread:stop() would abandon the requests in
-- flight on the thread's other connections, and wrk would still divide by the whole -d.)
-- Answers are told apart by their body ("status":"ok" is /healthz). The rate is measured over
-- the POST window, from the first request of any thread to the last POST answer, not over
-- wrk's -d; the clock is clock_gettime through LuaJIT's FFI (Debian's wrk runs on LuaJIT).
--
-- done() prints one line: BENCH_RESULT {"statuses":{...},"recorded":N,"duplicate":N,
-- "window_s":S,"exhausted":N}.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path, first, per_thread = args[1], tonumber(args[2]), tonumber(args[3])
  post_seconds = tonumber(args[4])
  local from = first + id * per_thread
  local headers = {
    ["Content-Type"] = "text/plain; charset=UTF-8",
    ["x-amz-sns-message-type"] = "Notification",
  }
  posts = {}
  local number = 0
  for line in io.lines(path) do
    if number >= from + per_thread then break end
    if number >= from then posts[#posts + 1] = wrk.format("POST", "/sns", headers, line) end
    number = number + 1
  end
  healthz = wrk.format("GET", "/healthz")
  next_post = 1
  statuses = {}
  recorded, duplicate, exhausted = 0, 0, 0
  started, deadline, last_answer = nil, nil, nil
end

function request()
  if started == nil then
    started = now()
    deadline = started + post_seconds
  end
  if next_post <= #posts and now() < deadline then
    next_post = next_post + 1
    return posts[next_post - 1]
  end
  if next_post > #posts then exhausted = 1 end
  return healthz
end

function response(status, headers, body)
  if string.find(body, '"status":"ok"', 1, true) then return end
  last_answer = now()
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 200 then
    if string.find(body, '"recorded"', 1, true) then
      recorded = recorded + 1
    elseif string.find(body, '"duplicate"', 1, true) then
      duplicate = duplicate + 1
    end
  end
end

function done(summary, latency, requests)
  local totals, first_start, last_end = {}, nil, nil
  local recorded_all, duplicate_all, exhausted_all = 0, 0, 0
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("statuses") or {}) do
      totals[key] = (totals[key] or 0) + count
    end
    recorded_all = recorded_all + (thread:get("recorded") or 0)
    duplicate_all = duplicate_all + (thread:get("duplicate") or 0)
    exhausted_all = exhausted_all + (thread:get("exhausted") or 0)
    local s, e = thread:get("started"), thread:get("last_answer")
    if s and (first_start == nil or s < first_start) then first_start = s end
    if e and (last_end == nil or e > last_end) then last_end = e end
  end
  local parts = {}
  for key, count in pairs(totals) do parts[#parts + 1] = string.format('"%s":%d', key, count) end
  local window = (first_start and last_end) and (last_end - first_start) or 0
  io.write(string.format('BENCH_RESULT {"statuses":{%s},"recorded":%d,"duplicate":%d,"window_s":%.4f,"exhausted":%d}\n',
    table.concat(parts, ","), recorded_all, duplicate_all, window, exhausted_all))
end
