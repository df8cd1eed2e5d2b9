-- App role assignments to each resource service principal: principal_type ServicePrincipal = an
-- application permission granted, User / Group = assigned to the app.
with source as (
    {{ m365_live_source('app_role_assignments') }}
)

select
    tenant_id,
    id as app_role_assignment_id,
    "appRoleId" as app_role_id,
    app_role_value,
    {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
    "principalId" as principal_id,
    "principalType" as principal_type,
    "principalDisplayName" as principal_display_name,
    "resourceId" as resource_service_principal_id,
    "resourceDisplayName" as resource_display_name
from source
