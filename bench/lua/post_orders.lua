-- POST /api/orders with a distinct Idempotency-Key on every request, so each one places a
-- new order (args: the body, a prefix unique to this run).
local threads = 0
local counter = 0
local prefix = ""

setup = function(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

init = function(args)
  wrk.method = "POST"
  wrk.body = args[1]
  wrk.headers["Content-Type"] = "application/json"
  prefix = args[2] .. "-" .. tostring(thread_no) .. "-"
end

request = function()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = prefix .. counter
  return wrk.format()
end
