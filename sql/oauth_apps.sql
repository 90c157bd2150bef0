-- OAuth applications of an organization (quay_core::oauth_apps): `oauthapplication`, with
-- its tokens and authorization codes going first when one is deleted.

-- name: insert_application
-- $1 organization, $2 client id, $3 field-encrypted secret, $4 name, $5 redirect uri,
-- $6 application uri, $7 description, $8 avatar e-mail.
INSERT INTO oauthapplication (client_id, redirect_uri, application_uri, organization_id, name,
                              description, gravatar_email, secure_client_secret, fully_migrated)
VALUES ($2, $5, $6, $1, $4, $7, $8, $3, true)
RETURNING id

-- name: application_id
SELECT id FROM oauthapplication WHERE organization_id = $1 AND client_id = $2

-- name: update_application
UPDATE oauthapplication SET name = $3, redirect_uri = $4, application_uri = $5, description = $6,
                            gravatar_email = $7
 WHERE id = $1 AND organization_id = $2

-- name: set_secret
UPDATE oauthapplication SET secure_client_secret = $3 WHERE id = $1 AND organization_id = $2

-- name: delete_application
-- $1 application id: its tokens, codes, then the application.
DELETE FROM oauthaccesstoken WHERE application_id = $1;
DELETE FROM oauthauthorizationcode WHERE application_id = $1;
DELETE FROM oauthapplication WHERE id = $1
