-- Delegated permission grants: consent_type AllPrincipals (admin consent for everyone) or Principal (one user).
with source as (
    {{ m365_live_source('oauth2_permission_grants') }}
)

select
    tenant_id,
    id as grant_id,
    "clientId" as client_service_principal_id,
    "resourceId" as resource_service_principal_id,
    "consentType" as consent_type,
    "principalId" as principal_id,
    trim(scope) as scope
from source
