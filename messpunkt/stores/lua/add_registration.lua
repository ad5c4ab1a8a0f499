-- ARGV: prefix, grace, now, client id, metadata JSON, secret hash ('' for none), registration
-- access token hash, issued at, the most registrations kept, grant basis (see
-- replace_registration), the sandbox as read (see as_read). Registered clients carry no
-- generation: a reset keeps them. They live as long as their sandbox: its state key's
-- expiry, copied (none: the default's). Returns 'kept'; 'taken' when the client id is (the
-- caller draws another id), 'full' when the sandbox keeps the most; 'gone' or 'moved' when
-- the sandbox is not as the request read it: a data-set choice in between forgot the
-- registered clients, and this one was checked against the tenants it replaced.
local g, refused = as_read()
if not g then return {refused} end
local sbx, key = P .. 'sbx', P .. 'client:' .. ARGV[4]
if redis.call('EXISTS', key) == 1 then return {'taken'} end
if redis.call('ZCARD', P .. 'clients') >= tonumber(ARGV[9]) then return {'full'} end
redis.call('HSET', key, 'doc', ARGV[5], 'secret_hash', ARGV[6], 'token_hash', ARGV[7],
  'issued_at', ARGV[8], 'basis', ARGV[10])
-- Indexed in the order of registration (the sandbox clock goes back at a reset).
redis.call('ZADD', P .. 'clients', redis.call('INCR', P .. 'clients:n'), ARGV[4])
local ends = redis.call('PEXPIRETIME', sbx)
if ends > 0 then
  redis.call('PEXPIREAT', key, ends)
  redis.call('PEXPIREAT', P .. 'clients', ends)
  redis.call('PEXPIREAT', P .. 'clients:n', ends)
end
return {'kept'}
