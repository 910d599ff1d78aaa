-- wrk script of scripts/service-load.sh: mixed traffic against the recommendation service.
-- 80% GET /recommend for a random user (2% of them unknown: cold start), 20% POST /feedback on
-- the explored item (half of them; else the top item) of an earlier slate of this wrk thread,
-- 5% of those sent twice (the service must count them as duplicates). done() prints totals.
local users = tonumber(os.getenv("LOAD_USERS") or "671")
local pause = tonumber(os.getenv("LOAD_DELAY_MS") or "0")  -- think time per request
local threads = {}
last_id, last_item, last_top, last_fb = nil, nil, nil, nil
fb_sent, fb_events, fb_dup, non200 = 0, 0, 0, 0
local pending = "rec"

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function delay()
  return pause
end

function request()
  local r = math.random()
  if last_id and r < 0.20 then
    pending = "fb"
    if last_fb and math.random() < 0.05 then
      return wrk.format("POST", "/feedback", {["Content-Type"] = "application/json"}, last_fb)
    end
    local reward = (math.random() < 0.1) and 1 or 0
    local item = (math.random() < 0.5) and last_item or last_top
    last_fb = string.format('{"request_id":%s,"item":%s,"reward":%d}', last_id, item, reward)
    return wrk.format("POST", "/feedback", {["Content-Type"] = "application/json"}, last_fb)
  end
  pending = "rec"
  local user = math.random(1, users)
  if math.random() < 0.02 then user = 1000000 + user end
  return wrk.format("GET", string.format("/recommend?user=%d&k=20", user))
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    return
  end
  local id = body:match('"request_id":(%d+)')
  if id then
    local top = body:match('"items":%[{"id":(%d+)')
    local item = body:match('"explored":{"item":(%d+)') or top
    if item then last_id, last_item, last_top = id, item, top end
    return
  end
  local s = body:match('"status":"(%a+)"')
  if s then
    fb_sent = fb_sent + 1
    if s == "duplicate" then fb_dup = fb_dup + 1 else fb_events = fb_events + 1 end
  end
end

function done(summary, latency, requests)
  local sent, events, dup, bad = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    sent = sent + t:get("fb_sent")
    events = events + t:get("fb_events")
    dup = dup + t:get("fb_dup")
    bad = bad + t:get("non200")
  end
  io.write(string.format("LOADSTATS requests=%d errors_socket=%d non200=%d feedback=%d " ..
                         "feedback_events=%d feedback_duplicates=%d p50_ms=%.3f p99_ms=%.3f " ..
                         "max_ms=%.3f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, bad, sent, events, dup, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
