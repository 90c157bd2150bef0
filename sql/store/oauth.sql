-- The store's statements for OAuth applications and the tokens users granted them
-- (server/src/store/oauth.rs).

-- name: authorizations
-- The tokens user $1 granted: uuid, scope, application name, description, uri, avatar e-mail,
-- organization name, organization e-mail.
SELECT t.uuid, t.scope, a.name, a.description, a.application_uri, a.gravatar_email, o.username, o.email
  FROM oauthaccesstoken t
  JOIN oauthapplication a ON a.id = t.application_id
  JOIN "user" o ON o.id = a.organization_id
 WHERE t.authorized_user_id = $1
 ORDER BY t.id

-- name: applications
-- Applications of organization $1: name, description, uri, client id, field-encrypted secret,
-- redirect uri, avatar e-mail.
SELECT name, description, application_uri, client_id, secure_client_secret, redirect_uri, gravatar_email
  FROM oauthapplication
 WHERE organization_id = $1
 ORDER BY id
