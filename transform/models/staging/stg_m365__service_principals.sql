-- Enterprise apps (service principals), live ones; is_microsoft_first_party / is_third_party from the owner tenant.
with source as (
    {{ m365_live_source('service_principals') }}
)

select
    tenant_id,
    id as service_principal_id,
    "appId" as app_id,
    "displayName" as display_name,
    "appDisplayName" as app_display_name,
    "servicePrincipalType" as service_principal_type,
    "appOwnerOrganizationId" as app_owner_organization_id,
    "accountEnabled" as account_enabled,
    "appRoleAssignmentRequired" as app_role_assignment_required,
    "signInAudience" as sign_in_audience,
    {{ m365_string_list('"tags"') }} as tags,
    {{ m365_string_list('"servicePrincipalNames"') }} as service_principal_names,
    {{ m365_json_length('"appRoles"') }} as app_role_count,
    -- Microsoft's own apps are owned by its tenants (f8cdef31-..., 72f988bf-...)
    coalesce("appOwnerOrganizationId" in (
        'f8cdef31-a31e-4b4a-93e4-5f571e91255a', '72f988bf-86f1-41af-91ab-2d7cd011db47'), false)
        as is_microsoft_first_party,
    coalesce("appOwnerOrganizationId" <> tenant_id
        and "appOwnerOrganizationId" not in (
            'f8cdef31-a31e-4b4a-93e4-5f571e91255a', '72f988bf-86f1-41af-91ab-2d7cd011db47'), false)
        as is_third_party
from source
