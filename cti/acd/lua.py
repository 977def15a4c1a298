"""Lua sources of the ACD store's atomic operations (registered once per store).

Every script receives the key prefix as ARGV[1] and builds key names from it, so all the
ACD keys of one center share one prefix (use a hash tag prefix such as ``cc:{center}:`` on
Redis Cluster). The shared helper ``sync`` keeps the derived indexes of an agent (per-group
ready sets, the delayed and wrap-up schedules) in line with its hash after every change.
"""

from __future__ import annotations

HELPERS = r"""
local P = ARGV[1]

local function agent_key(id) return P .. 'agent:' .. id end
local function call_key(uuid) return P .. 'call:' .. uuid end

local function csv_contains(csv, item)
  if not csv then return false end
  for value in string.gmatch(csv, '[^,]+') do
    if value == item then return true end
  end
  return false
end

local function csv_without(csv, item)
  local kept = {}
  if csv then
    for value in string.gmatch(csv, '[^,]+') do
      if value ~= item then kept[#kept + 1] = value end
    end
  end
  return table.concat(kept, ',')
end

-- Re-derive the indexes that depend on an agent's hash: per-group ready hashes (agent id ->
-- packed live stats, for ready and registered agents), the delayed schedule (ready but held
-- back) and the wrap-up schedule.
local function sync(id, now)
  local key = agent_key(id)
  local f = redis.call('HMGET', key, 'status', 'registered', 'groups', 'available_at',
    'calls_today', 'talk_today', 'day', 'idle_since')
  local status, registered, groups = f[1], f[2], f[3]
  local available_at = tonumber(f[4]) or 0
  local ready = status == 'ready' and registered == '1'
  if groups then
    local packed = ''
    if ready then
      packed = id .. ',ready,1,' .. (f[4] or '0') .. ',' .. (f[5] or '') .. ',' .. (f[6] or '')
        .. ',' .. (f[7] or '') .. ',' .. (f[8] or '')
    end
    for group in string.gmatch(groups, '[^,]+') do
      if ready then
        redis.call('HSET', P .. 'group:' .. group .. ':ready', id, packed)
      else
        redis.call('HDEL', P .. 'group:' .. group .. ':ready', id)
      end
    end
  end
  if status == 'ready' and available_at > now then
    redis.call('ZADD', P .. 'agents:delayed', available_at, id)
  else
    redis.call('ZREM', P .. 'agents:delayed', id)
  end
  if status == 'wrap_up' then
    redis.call('ZADD', P .. 'agents:wrap_up', available_at, id)
  else
    redis.call('ZREM', P .. 'agents:wrap_up', id)
  end
end

-- A queue's waiting-call count and the arrival time (score) of its longest waiting call
-- ('' when none), for the queue's live figures.
local function queue_stats(queue)
  local oldest = redis.call('ZRANGE', P .. 'queue:' .. queue .. ':arrivals', 0, 0, 'WITHSCORES')
  return redis.call('ZCARD', P .. 'queue:' .. queue .. ':waiting'), oldest[2] or ''
end

local function eligible(f, now)
  return f[1] == 'ready' and f[2] == '1' and (tonumber(f[3]) or 0) <= now
end
"""

# ARGV: prefix, id, allowed-from csv, now, extension, groups csv, status, reason,
#       registered ('1', '0' or '' to keep).
LOGIN = r"""
local id, allowed, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = agent_key(id)
local old = redis.call('HGET', key, 'status') or 'logged_out'
if not csv_contains(allowed, old) then return {'ILLEGAL', old} end
local registered = ARGV[9]
if registered == '' then registered = redis.call('HGET', key, 'registered') or '0' end
redis.call('HSET', key, 'status', ARGV[7], 'reason', ARGV[8], 'extension', ARGV[5],
  'groups', ARGV[6], 'registered', registered, 'call', '', 'available_at', '0',
  'idle_since', ARGV[4], 'no_answer', '0', 'changed_at', ARGV[4])
redis.call('SADD', P .. 'agents:logged_in', id)
for group in string.gmatch(ARGV[6], '[^,]+') do
  redis.call('SADD', P .. 'group:' .. group .. ':logged_in', id)
end
sync(id, now)
return {old, ARGV[7]}
"""

# ARGV: prefix, id, allowed-from csv, now.
LOGOUT = r"""
local id, allowed, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = agent_key(id)
local old = redis.call('HGET', key, 'status') or 'logged_out'
if not csv_contains(allowed, old) then return {'ILLEGAL', old} end
local groups = redis.call('HGET', key, 'groups') or ''
for group in string.gmatch(groups, '[^,]+') do
  redis.call('SREM', P .. 'group:' .. group .. ':logged_in', id)
  redis.call('HDEL', P .. 'group:' .. group .. ':ready', id)
end
redis.call('SREM', P .. 'agents:logged_in', id)
redis.call('HSET', key, 'status', 'logged_out', 'reason', '', 'call', '', 'changed_at', ARGV[4])
sync(id, now)
return {old, 'logged_out'}
"""

# ARGV: prefix, id, allowed-from csv, now, new status, reason, available_at.
SET_STATUS = r"""
local id, allowed, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = agent_key(id)
local old = redis.call('HGET', key, 'status') or 'logged_out'
if not csv_contains(allowed, old) then return {'ILLEGAL', old} end
redis.call('HSET', key, 'status', ARGV[5], 'reason', ARGV[6], 'available_at', ARGV[7],
  'changed_at', ARGV[4])
sync(id, now)
return {old, ARGV[5]}
"""

# ARGV: prefix, id, now, registered ('1' or '0').
SET_REGISTERED = r"""
local id, now = ARGV[2], tonumber(ARGV[3])
local key = agent_key(id)
local old = redis.call('HGET', key, 'registered') or '0'
redis.call('HSET', key, 'registered', ARGV[4])
sync(id, now)
return {old, ARGV[4], redis.call('HGET', key, 'status') or 'logged_out'}
"""

# ARGV: prefix, group, rotation key ('' for none), extra ids csv.
# Returns the logged-in count, the rotation pointer, and one string packing the live stats of
# every agent in the group's ready hash followed by the extra (preferred) agents: records
# separated by ';', fields (id, status, registered, available_at, calls, talk, day,
# idle_since) by ','. The ready hash holds the records already packed, so routing reads one
# hash and the client parses one string, however large the group.
FETCH_GROUP = r"""
local group = ARGV[2]
local pointer = false
if ARGV[3] ~= '' then pointer = redis.call('GET', ARGV[3]) end
local records = redis.call('HVALS', P .. 'group:' .. group .. ':ready')
for id in string.gmatch(ARGV[4], '[^,]+') do
  local f = redis.call('HMGET', agent_key(id), 'status', 'registered', 'available_at',
    'calls_today', 'talk_today', 'day', 'idle_since')
  records[#records + 1] = id .. ',' .. (f[1] or '') .. ',' .. (f[2] or '') .. ','
    .. (f[3] or '') .. ',' .. (f[4] or '') .. ',' .. (f[5] or '') .. ',' .. (f[6] or '') .. ','
    .. (f[7] or '')
end
return {redis.call('SCARD', P .. 'group:' .. group .. ':logged_in'), pointer,
  table.concat(records, ';')}
"""

# Returns OK, the queue's figures (waiting count, oldest arrival or ''), then id/extension
# pairs; or NONE with the ready count, the position and the queue's figures.
# ARGV: prefix, uuid, now, ring_together, rotation key, group, enter, then for entry the
# call's fields as a count followed by field/value pairs, then the agent ids in order.
# Reserves the first still-eligible agent (all of them for ring-all) and marks them offered
# to the call; the call leaves the waiting queue. With no agent the call waits in its queue.
RESERVE = r"""
local uuid, now = ARGV[2], tonumber(ARGV[3])
local ring_together, rotation_key, group = ARGV[4] == '1', ARGV[5], ARGV[6]
local ckey = call_key(uuid)
local index = 8
if ARGV[7] == '1' then
  local state = redis.call('HGET', ckey, 'state')
  if state and state ~= 'waiting' then return {'NOCALL', state} end
  local count = tonumber(ARGV[8])
  local pairs_list = {}
  for i = 9, 8 + count do pairs_list[#pairs_list + 1] = ARGV[i] end
  redis.call('HSET', ckey, unpack(pairs_list))
  index = 9 + count
elseif redis.call('HGET', ckey, 'state') ~= 'waiting' then
  return {'NOCALL', redis.call('HGET', ckey, 'state') or ''}
end
local reserved = {}
for i = index, #ARGV do
  local id = ARGV[i]
  local key = agent_key(id)
  local f = redis.call('HMGET', key, 'status', 'registered', 'available_at', 'extension')
  if eligible(f, now) then
    redis.call('HSET', key, 'status', 'offered', 'call', uuid, 'changed_at', ARGV[3])
    sync(id, now)
    reserved[#reserved + 1] = id
    reserved[#reserved + 1] = f[4] or ''
    if not ring_together then break end
  end
end
local fields = redis.call('HMGET', ckey, 'queue', 'member')
local queue, member = fields[1], fields[2]
local waiting = P .. 'queue:' .. queue .. ':waiting'
if #reserved > 0 then
  local ids = {}
  for i = 1, #reserved, 2 do ids[#ids + 1] = reserved[i] end
  redis.call('HSET', ckey, 'state', 'offered', 'agents', table.concat(ids, ','))
  redis.call('ZREM', waiting, member)
  redis.call('ZREM', P .. 'queue:' .. queue .. ':arrivals', uuid)
  if rotation_key ~= '' then redis.call('SET', rotation_key, reserved[1]) end
  local count, oldest = queue_stats(queue)
  local result = {'OK', count, oldest}
  for _, id in ipairs(reserved) do result[#result + 1] = id end
  return result
end
redis.call('ZADD', waiting, tonumber(redis.call('HGET', ckey, 'score')), member)
redis.call('ZADD', P .. 'queue:' .. queue .. ':arrivals',
  tonumber(redis.call('HGET', ckey, 'arrived_at')), uuid)
local count, oldest = queue_stats(queue)
return {'NONE', redis.call('HLEN', P .. 'group:' .. group .. ':ready'),
  redis.call('ZRANK', waiting, member) + 1, count, oldest}
"""

# ARGV: prefix, agent id, now, then queue/member pairs in preference order.
# The agent-ready path: give this agent the first call of the list still waiting.
CLAIM = r"""
local id, now = ARGV[2], tonumber(ARGV[3])
local key = agent_key(id)
local f = redis.call('HMGET', key, 'status', 'registered', 'available_at', 'extension')
if not eligible(f, now) then return {'NOAGENT', f[1] or 'logged_out'} end
for i = 4, #ARGV, 2 do
  local queue, member = ARGV[i], ARGV[i + 1]
  local waiting = P .. 'queue:' .. queue .. ':waiting'
  if redis.call('ZSCORE', waiting, member) then
    local uuid = string.match(member, '^[^|]*|([^|]*)|')
    local ckey = call_key(uuid)
    if redis.call('HGET', ckey, 'state') == 'waiting' then
      redis.call('ZREM', waiting, member)
      redis.call('ZREM', P .. 'queue:' .. queue .. ':arrivals', uuid)
      redis.call('HSET', ckey, 'state', 'offered', 'agents', id)
      redis.call('HSET', key, 'status', 'offered', 'call', uuid, 'changed_at', ARGV[3])
      sync(id, now)
      return {'OK', uuid, queue, f[4] or ''}
    end
  end
end
return {'NONE'}
"""

# ARGV: prefix, id, uuid, now.
OFFER_ANSWERED = r"""
local id, uuid, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = agent_key(id)
local f = redis.call('HMGET', key, 'status', 'call')
if f[1] ~= 'offered' then return {'ILLEGAL', f[1] or 'logged_out'} end
if f[2] ~= uuid then return {'STALE', f[2] or ''} end
redis.call('HSET', key, 'status', 'talking', 'no_answer', '0', 'changed_at', ARGV[4])
sync(id, now)
local ckey = call_key(uuid)
local others = csv_without(redis.call('HGET', ckey, 'agents'), id)
if redis.call('EXISTS', ckey) == 1 then
  redis.call('HSET', ckey, 'state', 'connected', 'agents', id, 'ringing', others)
end
return {'offered', 'talking', others}
"""

# ARGV: prefix, id, allowed-from csv, uuid, now, the busy reason required.
# A consulted agent takes the call over (the first agent left it): busy "consult" -> talking
# on the call, as if it had been offered and answered.
TAKE_CALL = r"""
local id, allowed, uuid, now = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local key = agent_key(id)
local f = redis.call('HMGET', key, 'status', 'reason')
if not csv_contains(allowed, f[1] or 'logged_out') then return {'ILLEGAL', f[1] or 'logged_out'} end
if f[2] ~= ARGV[6] then return {'ILLEGAL', f[1]} end
redis.call('HSET', key, 'status', 'talking', 'reason', '', 'call', uuid, 'no_answer', '0',
  'changed_at', ARGV[5])
sync(id, now)
return {f[1], 'talking'}
"""

# ARGV: prefix, id, uuid, now, kind (no_answer|reject|busy|cancelled), available_at,
#       max no-answers.
OFFER_FAILED = r"""
local id, uuid, now, kind = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local key = agent_key(id)
local f = redis.call('HMGET', key, 'status', 'call', 'no_answer')
if f[1] ~= 'offered' then return {'ILLEGAL', f[1] or 'logged_out'} end
if f[2] ~= uuid then return {'STALE', f[2] or ''} end
local status, reason, available_at = 'ready', '', ARGV[6]
local misses = tonumber(f[3]) or 0
if kind == 'no_answer' then
  misses = misses + 1
  if misses >= tonumber(ARGV[7]) then
    status, reason, available_at, misses = 'busy', 'no_answer', '0', 0
  end
end
redis.call('HSET', key, 'status', status, 'reason', reason, 'call', '',
  'available_at', available_at, 'no_answer', misses, 'changed_at', ARGV[4])
sync(id, now)
local ckey = call_key(uuid)
local remaining = ''
local state = redis.call('HGET', ckey, 'state')
if state == 'offered' then
  remaining = csv_without(redis.call('HGET', ckey, 'agents'), id)
  local tried = redis.call('HGET', ckey, 'tried') or ''
  if kind ~= 'cancelled' then
    if tried == '' then tried = id else tried = tried .. ',' .. id end
  end
  redis.call('HSET', ckey, 'agents', remaining, 'tried', tried)
  if remaining == '' then
    state = 'waiting'
    redis.call('HSET', ckey, 'state', state)
  end
end
return {'offered', status, reason, remaining, state or ''}
"""

# ARGV: prefix, id, uuid, now, talk seconds, today, wrap-up seconds.
CALL_ENDED = r"""
local id, uuid, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = agent_key(id)
local f = redis.call('HMGET', key, 'status', 'call', 'day')
if f[1] ~= 'talking' then return {'ILLEGAL', f[1] or 'logged_out'} end
if f[2] ~= uuid then return {'STALE', f[2] or ''} end
if f[3] ~= ARGV[6] then
  redis.call('HSET', key, 'day', ARGV[6], 'calls_today', '0', 'talk_today', '0')
end
redis.call('HINCRBY', key, 'calls_today', 1)
redis.call('HINCRBYFLOAT', key, 'talk_today', ARGV[5])
local wrap = tonumber(ARGV[7])
local status = 'wrap_up'
if wrap <= 0 then status = 'ready' end
redis.call('HSET', key, 'status', status, 'reason', '', 'call', '', 'idle_since', ARGV[4],
  'last_call_end', ARGV[4], 'available_at', tostring(now + wrap), 'changed_at', ARGV[4])
sync(id, now)
redis.call('DEL', call_key(uuid))
return {'talking', status}
"""

# ARGV: prefix, uuid. The call leaves the ACD (abandoned, overflowed, transferred away).
# Returns OK, the queue, the call's state, the agents ringing, its 1-based position before
# it left ('' when it was not waiting), then the queue's figures after (see RESERVE).
REMOVE_CALL = r"""
local uuid = ARGV[2]
local ckey = call_key(uuid)
local f = redis.call('HMGET', ckey, 'queue', 'member', 'state', 'agents')
if not f[1] then return {'NOCALL'} end
local waiting = P .. 'queue:' .. f[1] .. ':waiting'
local rank = redis.call('ZRANK', waiting, f[2] or '')
redis.call('ZREM', waiting, f[2] or '')
redis.call('ZREM', P .. 'queue:' .. f[1] .. ':arrivals', uuid)
redis.call('DEL', ckey)
local agents = ''
if f[3] == 'offered' then agents = f[4] or '' end
local position = ''
if rank then position = rank + 1 end
local count, oldest = queue_stats(f[1])
return {'OK', f[1], f[3], agents, position, count, oldest}
"""

# ARGV: prefix, now, then queue codes. The tick's reads in one step: agents whose wrap-up is
# over, ready agents whose delay is over (taken off the delayed schedule), and the waiting
# count of every queue.
DUE = r"""
local now = ARGV[2]
local wrap_ups = redis.call('ZRANGEBYSCORE', P .. 'agents:wrap_up', '-inf', now)
local delayed = redis.call('ZRANGEBYSCORE', P .. 'agents:delayed', '-inf', now)
if #delayed > 0 then redis.call('ZREMRANGEBYSCORE', P .. 'agents:delayed', '-inf', now) end
local lengths = {}
for i = 3, #ARGV do
  lengths[#lengths + 1] = redis.call('ZCARD', P .. 'queue:' .. ARGV[i] .. ':waiting')
end
return {wrap_ups, delayed, lengths}
"""
