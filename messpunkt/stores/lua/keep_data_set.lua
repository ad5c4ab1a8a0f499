-- ARGV: prefix, grace, the data set's name, its canonical bytes.
-- Kept as long as the sandbox's state: a partner sandbox's expires with it. 0 for a sandbox
-- deleted or expired meanwhile, which keeps nothing more.
local ends = redis.call('PEXPIRETIME', P .. 'sbx')  -- -2: no such key, -1: no expiry
if ends == -2 then return 0 end
local key = P .. 'ds:' .. ARGV[3]
redis.call('SET', key, ARGV[4])
if ends > 0 then redis.call('PEXPIREAT', key, ends) end
return 1
