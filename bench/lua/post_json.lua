-- POST the same JSON body on every request (args: the body). Without a request()
-- function wrk builds the request once, so the load generator stays cheap.
init = function(args)
  wrk.method = "POST"
  wrk.body = args[1]
  wrk.headers["Content-Type"] = "application/json"
end
