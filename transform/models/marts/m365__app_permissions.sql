-- Every permission granted to an app: application permissions (app role assignments to a service
-- principal, the name resolved from the resource's appRoles) and delegated ones (OAuth2 grants, one row
-- per scope; consent_type AllPrincipals = admin consent for all users, Principal = one user's consent).
-- is_high_privilege from seed m365_high_privilege_permissions.
with service_principals as (
    select * from {{ ref('stg_m365__service_principals') }}
),

app_roles as (
    select * from {{ ref('stg_m365__service_principal_app_roles') }}
),

application as (
    select
        a.tenant_id,
        'application' as permission_type,
        a.app_role_assignment_id as grant_id,
        a.principal_id as client_service_principal_id,
        a.resource_service_principal_id,
        a.app_role_id as permission_id,
        coalesce(r.value, a.app_role_value) as permission,
        r.display_name as permission_display_name,
        cast(null as {{ dbt.type_string() }}) as consent_type,
        cast(null as {{ dbt.type_string() }}) as consented_user_id,
        a.created_date_time as granted_date_time
    from {{ ref('stg_m365__app_role_assignments') }} as a
    left join app_roles as r
        on a.tenant_id = r.tenant_id
        and a.resource_service_principal_id = r.service_principal_id
        and a.app_role_id = r.app_role_id
    where a.principal_type = 'ServicePrincipal'
),

delegated as (
    select
        tenant_id,
        'delegated' as permission_type,
        grant_id,
        client_service_principal_id,
        resource_service_principal_id,
        cast(null as {{ dbt.type_string() }}) as permission_id,
        scope_name as permission,
        cast(null as {{ dbt.type_string() }}) as permission_display_name,
        consent_type,
        principal_id as consented_user_id,
        {{ m365_timestamp('cast(null as ' ~ dbt.type_string() ~ ')') }} as granted_date_time
    from {{ ref('stg_m365__oauth2_permission_grant_scopes') }}
),

granted as (
    select * from application
    union all
    select * from delegated
),

flags as (
    select
        permission,
        max(tier) as tier,
        max(why) as why,
        max(case when permission_type in ('application', 'any') then 1 else 0 end) as for_application,
        max(case when permission_type in ('delegated', 'any') then 1 else 0 end) as for_delegated
    from {{ ref('m365_high_privilege_permissions') }}
    group by permission
)

select
    g.tenant_id,
    g.permission_type || ':' || g.grant_id || ':' || coalesce(g.permission, '') as permission_grant_key,
    g.permission_type,
    g.grant_id,
    g.client_service_principal_id,
    client.display_name as client_display_name,
    client.app_id as client_app_id,
    client.app_owner_organization_id as client_owner_organization_id,
    coalesce(client.is_third_party, false) as client_is_third_party,
    coalesce(client.app_owner_organization_id = g.tenant_id, false) as client_is_own_app,
    g.resource_service_principal_id,
    resource.display_name as resource_display_name,
    resource.app_id as resource_app_id,
    g.permission_id,
    g.permission,
    g.permission_display_name,
    g.consent_type,
    g.consented_user_id,
    consented.user_principal_name as consented_user_principal_name,
    g.granted_date_time,
    coalesce(
        (g.permission_type = 'application' and f.for_application = 1)
        or (g.permission_type = 'delegated' and f.for_delegated = 1
            and coalesce(g.consent_type, '') = 'AllPrincipals'),
        false) as is_high_privilege,
    case when (g.permission_type = 'application' and f.for_application = 1)
        or (g.permission_type = 'delegated' and f.for_delegated = 1
            and coalesce(g.consent_type, '') = 'AllPrincipals') then f.tier end as privilege_tier,
    case when (g.permission_type = 'application' and f.for_application = 1)
        or (g.permission_type = 'delegated' and f.for_delegated = 1
            and coalesce(g.consent_type, '') = 'AllPrincipals') then f.why end as privilege_reason
from granted as g
left join service_principals as client
    on g.tenant_id = client.tenant_id and g.client_service_principal_id = client.service_principal_id
left join service_principals as resource
    on g.tenant_id = resource.tenant_id and g.resource_service_principal_id = resource.service_principal_id
left join {{ ref('stg_m365__users') }} as consented
    on g.tenant_id = consented.tenant_id and g.consented_user_id = consented.user_id
left join flags as f
    on g.permission = f.permission
