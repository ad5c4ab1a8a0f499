-- ARGV: prefix, grace, client id, metadata JSON, secret hash ('' for none), registration
-- access token hash, issued at, the most registrations kept, grant basis (see
-- replace_registration). Registered clients carry no generation: a reset keeps them.
-- They live as long as their sandbox: its state key's expiry, copied (none: the default's).
-- Returns 1 when kept, 0 when the client id is taken, -1 when the sandbox is gone (deleted
-- or expired meanwhile), -2 when it keeps the most: the caller draws another id for 0 only.
local sbx, key = P .. 'sbx', P .. 'client:' .. ARGV[3]
if redis.call('EXISTS', sbx) == 0 then return -1 end
if redis.call('EXISTS', key) == 1 then return 0 end
if redis.call('ZCARD', P .. 'clients') >= tonumber(ARGV[8]) then return -2 end
redis.call('HSET', key, 'doc', ARGV[4], 'secret_hash', ARGV[5], 'token_hash', ARGV[6],
  'issued_at', ARGV[7], 'basis', ARGV[9])
-- Indexed in the order of registration (the sandbox clock goes back at a reset).
redis.call('ZADD', P .. 'clients', redis.call('INCR', P .. 'clients:n'), ARGV[3])
local ends = redis.call('PEXPIRETIME', sbx)
if ends > 0 then
  redis.call('PEXPIREAT', key, ends)
  redis.call('PEXPIREAT', P .. 'clients', ends)
  redis.call('PEXPIREAT', P .. 'clients:n', ends)
end
return 1
