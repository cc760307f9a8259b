-- wrk script: every request is a fresh /collect batch of 20 events (12 served, 5 viewable,
-- 2 clicks, 1 view) with unique ids, as a listing page's snippet would send them. Ids are
-- built like the snippet's: a time prefix (ms) and random characters.
-- A desktop browser: with no user agent the collector (rightly) takes wrk for a crawler and
-- the events would be stored as invalid traffic, a cheaper path than counting.
local UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
local counter = 0
local prefix = "x"

function init(args)
  math.randomseed(os.clock() * 1e6 + tonumber(tostring({}):sub(8), 16))
  prefix = string.format("%08x", math.random(0, 0x7fffffff))
end

local function rid()
  return string.format("%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
end

function request()
  counter = counter + 1
  local now = os.time() * 1000
  local ts = now - 1500
  -- the time part: wall-clock ms (os.time is whole seconds, counter breaks ties)
  local pv = string.format("%011x", now + counter % 1000) .. rid()
  local parts = {}
  for i = 1, 12 do
    parts[#parts + 1] = string.format(
      '{"id":"s%s-%d","type":"served","gig":"g-%d","imp":"%s-%d","pv":"%s","surface":"search","context":"logo design","position":%d,"ts":%d}',
      pv, i, (counter * 12 + i) % 5000, pv, i, pv, i, ts)
  end
  for i = 1, 5 do
    parts[#parts + 1] = string.format(
      '{"id":"v%s-%d","type":"viewable","gig":"g-%d","imp":"%s-%d","ts":%d}',
      pv, i, (counter * 12 + i) % 5000, pv, i, ts + 1000)
  end
  for i = 1, 2 do
    parts[#parts + 1] = string.format(
      '{"id":"c%s-%d","type":"click","gig":"g-%d","imp":"%s-%d","surface":"search","ts":%d}',
      pv, i, (counter * 12 + i) % 5000, pv, i, ts + 1200)
  end
  parts[#parts + 1] = string.format(
    '{"id":"w%s","type":"view","gig":"g-%d","pv":"%s","ts":%d}', pv, counter % 5000, pv, ts)
  local body = '{"sent_at":' .. now .. ',"events":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/collect", {["Content-Type"] = "text/plain", ["User-Agent"] = UA}, body)
end
