-- The store's statements for reading action logs (server/src/store/logs.rs), run as they are on
-- both backends after dialect rendering. Writes go through quay_core::logs (sql/logs.sql).

-- name: page
-- Action logs, newest first (by id), before id $6, at most $7: of account $1 (-1: any), of
-- repository $2 (-1: any), by performer $3 (-1: any), between $4 (inclusive) and $5 (exclusive),
-- both naive UTC timestamps. Columns: id, kind, datetime, ip, metadata, performer name, e-mail,
-- robot, account name, organization, e-mail.
SELECT l.id, k.name, {ts:l.datetime}, l.ip, l.metadata_json, p.username, p.email, p.robot,
       a.username, a.organization, a.email
  FROM logentry3 l
  JOIN logentrykind k ON k.id = l.kind_id
  LEFT JOIN "user" p ON p.id = l.performer_id
  LEFT JOIN "user" a ON a.id = l.account_id
 WHERE ($1 < 0 OR l.account_id = $1)
   AND ($2 < 0 OR l.repository_id = $2)
   AND ($3 < 0 OR l.performer_id = $3)
   AND l.datetime >= {timestamp:$4} AND l.datetime < {timestamp:$5}
   AND l.id < $6
 ORDER BY l.id DESC
 LIMIT $7

-- name: aggregate
-- The same selection counted by kind and UTC day: kind, day (YYYY-MM-DD), count.
SELECT k.name, {day:l.datetime}, count(*)
  FROM logentry3 l
  JOIN logentrykind k ON k.id = l.kind_id
 WHERE ($1 < 0 OR l.account_id = $1)
   AND ($2 < 0 OR l.repository_id = $2)
   AND ($3 < 0 OR l.performer_id = $3)
   AND l.datetime >= {timestamp:$4} AND l.datetime < {timestamp:$5}
 GROUP BY k.name, {day:l.datetime}
 ORDER BY 3, 1
