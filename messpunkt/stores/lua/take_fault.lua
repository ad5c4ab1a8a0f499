-- ARGV: prefix, grace, the rule's id. Count it down for one request: 1 if this request
-- gets the fault, 0 if none is left. One step, so N requests at once take N at most.
local sbx = P .. 'sbx'
local count = 'fc:' .. ARGV[3]
if redis.call('HEXISTS', sbx, 'f:' .. ARGV[3]) == 0 then return 0 end
if redis.call('HEXISTS', sbx, count) == 0 then return 1 end  -- until an instant only
local left = redis.call('HINCRBY', sbx, count, -1)
if left <= 0 then redis.call('HDEL', sbx, 'f:' .. ARGV[3], count) end
if left < 0 then return 0 end
return 1
