-- Shared by every script of the Redis store. ARGV[1] is the sandbox's key prefix,
-- "mp:{<sandbox id>}:", so every key a script touches carries the sandbox's hash tag and
-- the whole sandbox lives in one Redis Cluster slot. Instants are sandbox-clock
-- milliseconds; Lua numbers are doubles, so they are written back with %.0f, never tostring.
local P = ARGV[1]
local GRACE = tonumber(ARGV[2])  -- seconds a record outlives its own end (garbage only)
local KEPT = 50                  -- events a session keeps: its start and the newest 49

local function fmt(n) return string.format('%.0f', n) end

-- The sandbox's generation; a sandbox that is gone has none, and no record matches '-'.
local function generation() return redis.call('HGET', P .. 'sbx', 'gen') or '-' end

-- The sandbox's generation while it is as the request that runs this step read it (the
-- last ARGV, "<gen>|<frozen_at>|<offset>", redis.py `_stamped`); else nil and why: 'gone'
-- when it was deleted or has expired, 'moved' when it was reset or its clock moved since.
-- Checked first, in the same step as the writes of a step stamped with the request's
-- instant: a code issued before a reset would otherwise land in the sandbox after it, a
-- rotation the moved clock has expired.
local function as_read()
  local s = redis.call('HMGET', P .. 'sbx', 'gen', 'frozen_at', 'offset')
  if not s[1] then return nil, 'gone' end
  if s[1] .. '|' .. (s[2] or '') .. '|' .. (s[3] or '') ~= ARGV[#ARGV] then
    return nil, 'moved'
  end
  return s[1]
end

-- Seconds a record outlasts its writing while the clock stands still, in a sandbox without
-- an end (redis.py's FROZEN_KEEP, 7 days).
local FROZEN_KEEP = 604800 -- seconds

-- Real-time TTLs only collect garbage; validity is always decided on the sandbox clock.
-- While it is frozen, real time runs on and the sandbox's instant does not: a TTL from the
-- record's lifetime would collect what the sandbox still holds valid. It is kept as long
-- as the sandbox lives then, or FROZEN_KEEP (redis.py `_keep_while_frozen` does the same
-- for what was written before the freeze).
local function expire(key, ends, now)
  local seconds = math.floor((tonumber(ends) - tonumber(now)) / 1000) + GRACE
  if seconds < GRACE then seconds = GRACE end
  local frozen = redis.call('HGET', P .. 'sbx', 'frozen_at')
  if frozen and frozen ~= '' then  -- (no state: the sandbox ended, its records go as usual)
    local left = redis.call('TTL', P .. 'sbx')
    if left < 0 then left = FROZEN_KEEP end
    if left > seconds then seconds = left end
  end
  redis.call('EXPIRE', key, seconds)
end

local function record(sid, at, kind, detail)
  local key = P .. 's:' .. sid .. ':ev'
  redis.call('RPUSH', key, at .. '|' .. kind .. '|' .. detail)
  redis.call('LTRIM', key, -(KEPT - 1), -1)
  redis.call('EXPIRE', key, redis.call('TTL', P .. 's:' .. sid))
end

-- A session of the current generation, or nil.
local function session_of(sid, g)
  local key = P .. 's:' .. sid
  if redis.call('HGET', key, 'g') ~= g then return nil end
  return key
end

-- Revoke a session that is still active; one that has ended stays as it ended (Session.state:
-- revoked, or past the earlier of its cap and its tokens' last end).
local function revoke(sid, reason, now, g)
  local key = session_of(sid, g)
  if not key then return end
  local s = redis.call('HMGET', key, 'revoked_at', 'expires_at', 'usable_until')
  if s[1] ~= '' then return end
  local ends = tonumber(s[2])
  if s[3] ~= '' then ends = math.min(ends, tonumber(s[3])) end
  if tonumber(now) >= ends then return end
  redis.call('HSET', key, 'revoked_at', now, 'revoked_reason', reason)
  record(sid, now, 'revoked', reason)
end

-- The sessions of a registered client, `client-sessions:<id>` (a set, filled by open):
-- changing or deleting the client visits these, never every session of the sandbox.
-- Not under `client:`: an id is the client's to choose in a data set and public in every
-- authorization URL, and `client:<id>:sessions` would be the hash of a client named so.
local function client_sessions(client_id) return P .. 'client-sessions:' .. client_id end

-- Revoke every session of a registered client (of the current generation); ids whose
-- session was collected leave the index.
local function revoke_client(client_id, reason, now)
  local g, index = generation(), client_sessions(client_id)
  for _, sid in ipairs(redis.call('SMEMBERS', index)) do
    if session_of(sid, g) then
      revoke(sid, reason, now, g)
    else
      redis.call('SREM', index, sid)
    end
  end
end

-- Forget the ids in `index` (a sorted set or a set of session ids) whose session Redis has
-- collected, looking at two picked at random. Every new session does this as it joins the
-- index, so collected ids stay fewer than live ones however rarely anyone lists them.
local function forget_collected(index, sorted)
  local picked = redis.call(sorted and 'ZRANDMEMBER' or 'SRANDMEMBER', index, 2)
  for _, sid in ipairs(picked) do
    if redis.call('EXISTS', P .. 's:' .. sid) == 0 then
      redis.call(sorted and 'ZREM' or 'SREM', index, sid)
    end
  end
end

-- Let `index` live at least as long as `key` (sessions: garbage only, as with any TTL).
local function outlive(index, key)
  local ttl = redis.call('TTL', key)
  if redis.call('TTL', index) < ttl then redis.call('EXPIRE', index, ttl) end
end

-- What a grant issues in generation g: the access token's end and the refresh token, capped
-- by the session.
local function issue(sid, now, g, access_ttl, refresh_hash, refresh_ttl)
  local key = P .. 's:' .. sid
  local fields = redis.call('HMGET', key, 'expires_at', 'usable_until', 'client_id')
  local cap = tonumber(fields[1])
  local access_end = math.min(tonumber(now) + tonumber(access_ttl), cap)
  local usable = access_end
  if fields[2] ~= '' then usable = math.max(usable, tonumber(fields[2])) end
  if refresh_hash ~= '' then
    local refresh_end = math.min(tonumber(now) + tonumber(refresh_ttl), cap)
    local rt = P .. 'rt:' .. refresh_hash
    redis.call('HSET', rt, 'g', g, 'sid', sid, 'client_id', fields[3],
      'issued_at', now, 'expires_at', fmt(refresh_end), 'rotated_at', '')
    expire(rt, refresh_end, now)
    usable = math.max(usable, refresh_end)
  end
  redis.call('HSET', key, 'usable_until', fmt(usable))
  -- The session as it now stands, so the caller needs no second round trip to read it;
  -- without its events, which only a listing shows (up to 50 of them, on every refresh).
  return {'issued', fmt(access_end), sid, redis.call('HGETALL', key)}
end

-- A registered client ('1' in ARGV[o + 13], see open) deleted since it was authenticated:
-- checked in the same step as the session opens, so a DELETE cannot slip in between.
local function client_gone(o, client_id)
  return ARGV[o + 13] == '1' and redis.call('EXISTS', P .. 'client:' .. client_id) == 0
end

-- Open a session: ARGV[o..o+9] = sid, kind, client_id, tenant_id, subject, scopes,
-- property_ids, expires_at, name, personal token hash; then the issue (o+10..o+12), and
-- whether the client is registered (o+13).
local function open(o, now, g)
  local sid, kind, cap = ARGV[o], ARGV[o + 1], ARGV[o + 7]
  local key = P .. 's:' .. sid
  redis.call('HSET', key, 'g', g, 'kind', kind, 'client_id', ARGV[o + 2],
    'tenant_id', ARGV[o + 3], 'subject', ARGV[o + 4], 'scopes', ARGV[o + 5],
    'property_ids', ARGV[o + 6], 'created_at', now, 'expires_at', cap, 'name', ARGV[o + 8],
    'usable_until', '', 'revoked_at', '', 'revoked_reason', '',
    'first', now .. '|issued|session started (' .. kind .. ')')
  expire(key, cap, now)
  -- The index lives as long as its longest-lived session; listing drops collected ones.
  local index = P .. 'sessions'
  forget_collected(index, true)
  redis.call('ZADD', index, now, sid)
  outlive(index, key)
  if ARGV[o + 13] == '1' then
    -- So is a registered client's; revoke_client drops collected ones.
    local own = client_sessions(ARGV[o + 2])
    forget_collected(own, false)
    redis.call('SADD', own, sid)
    outlive(own, key)
  end
  if ARGV[o + 9] ~= '' then
    redis.call('SET', P .. 'pat:' .. ARGV[o + 9], sid)
    expire(P .. 'pat:' .. ARGV[o + 9], cap, now)
  end
  return issue(sid, now, g, ARGV[o + 10], ARGV[o + 11], ARGV[o + 12])
end
