-- Who holds each activated admin role: users (with account state, last sign-in and, when the
-- user_registration_details stream is loaded, MFA registration), service principals and groups.
-- is_privileged_role / role_tier from seed m365_privileged_roles.
with members as (
    select * from {{ ref('stg_m365__directory_role_members') }}
),

roles as (
    select * from {{ ref('stg_m365__directory_roles') }}
),

registration as (
    select * from {{ ref('stg_m365__user_registration_details') }}
)

select
    m.tenant_id,
    m.role_id || ':' || m.member_id as role_assignment_key,
    m.role_id,
    r.display_name as role_name,
    r.role_template_id,
    p.tier is not null and p.tier in ('critical', 'high') as is_privileged_role,
    p.tier as role_tier,
    m.member_id,
    m.member_type,
    coalesce(u.user_principal_name, m.user_principal_name) as user_principal_name,
    coalesce(u.display_name, sp.display_name, m.display_name) as display_name,
    u.user_type,
    u.is_guest,
    u.account_enabled,
    u.last_successful_sign_in_date_time,
    u.days_since_last_activity,
    sp.app_id as service_principal_app_id,
    sp.is_third_party as service_principal_is_third_party,
    reg.user_id is not null as has_registration_details,
    reg.is_mfa_registered,
    reg.is_mfa_capable,
    reg.methods_registered,
    reg.default_mfa_method
from members as m
left join roles as r
    on m.tenant_id = r.tenant_id and m.role_id = r.role_id
left join {{ ref('m365_privileged_roles') }} as p
    on r.role_template_id = p.role_template_id
left join {{ ref('int_m365__user_activity') }} as u
    on m.tenant_id = u.tenant_id and m.member_id = u.user_id
left join {{ ref('stg_m365__service_principals') }} as sp
    on m.tenant_id = sp.tenant_id and m.member_id = sp.service_principal_id
left join registration as reg
    on m.tenant_id = reg.tenant_id and m.member_id = reg.user_id
