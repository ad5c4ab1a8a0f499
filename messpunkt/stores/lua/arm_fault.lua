-- ARGV: prefix, grace, the rule's id, the rule (JSON), its count ('' for none), most armed.
-- 1 armed, 0 as many armed as allowed, -1 the sandbox is gone.
-- Kept in the state hash, which every request reads anyway: `f:<id>`, and `fc:<id>`,
-- the requests it has left, counted down by take_fault.
local sbx = P .. 'sbx'
if redis.call('EXISTS', sbx) == 0 then return -1 end  -- deleted or expired meanwhile
local armed = 0
for _, name in ipairs(redis.call('HKEYS', sbx)) do
  if string.sub(name, 1, 2) == 'f:' then armed = armed + 1 end
end
if armed >= tonumber(ARGV[6]) then return 0 end
redis.call('HSET', sbx, 'f:' .. ARGV[3], ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', sbx, 'fc:' .. ARGV[3], ARGV[5]) end
return 1
