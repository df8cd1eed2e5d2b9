-- Who holds each admin (directory) role, and where: members of activated directory roles, unified RBAC
-- role assignments (every role, scoped ones with their directory_scope_id: "/" is the whole tenant) and,
-- when role_eligibility_schedules is loaded, PIM-eligible holders (assignment_type 'eligible': they may
-- activate the role; 'active': they hold it now). A directoryRoles membership and the tenant-wide role
-- assignment it mirrors are one row. Users come with account state, last sign-in and, when
-- user_registration_details is loaded, MFA registration; is_privileged_role / role_tier from seed
-- m365_privileged_roles.
with legacy as (
    select
        m.tenant_id,
        r.role_template_id as role_definition_id,
        m.member_id as principal_id,
        '/' as directory_scope_id,
        m.role_id,
        m.member_type,
        m.user_principal_name,
        m.display_name,
        r.display_name as role_name
    from {{ ref('stg_m365__directory_role_members') }} as m
    inner join {{ ref('stg_m365__directory_roles') }} as r
        on m.tenant_id = r.tenant_id and m.role_id = r.role_id
),

unified as (
    select
        tenant_id, role_definition_id, principal_id, directory_scope_id,
        min(role_assignment_id) as role_assignment_id
    from {{ ref('stg_m365__role_assignments') }}
    group by tenant_id, role_definition_id, principal_id, directory_scope_id
),

active as (
    select tenant_id, role_definition_id, principal_id, directory_scope_id from legacy
    union
    select tenant_id, role_definition_id, principal_id, directory_scope_id from unified
),

eligible as (
    select
        tenant_id, role_definition_id, principal_id, directory_scope_id,
        min(role_eligibility_schedule_id) as role_eligibility_schedule_id,
        min(member_type) as eligibility_member_type,
        min(eligibility_starts_at) as eligibility_starts_at,
        -- null: one of the schedules does not expire
        case when count(*) = count(eligibility_ends_at) then max(eligibility_ends_at) end as eligibility_ends_at
    from {{ ref('stg_m365__role_eligibility_schedules') }}
    group by tenant_id, role_definition_id, principal_id, directory_scope_id
),

holders as (
    select
        a.tenant_id, a.role_definition_id, a.principal_id, a.directory_scope_id,
        'active' as assignment_type,
        l.role_id as legacy_role_id, l.member_type as legacy_member_type,
        l.user_principal_name as legacy_user_principal_name, l.display_name as legacy_display_name,
        l.role_name as legacy_role_name,
        l.principal_id is not null as is_directory_role_member,
        u.role_assignment_id,
        cast(null as {{ dbt.type_string() }}) as role_eligibility_schedule_id,
        cast(null as {{ dbt.type_string() }}) as eligibility_member_type,
        cast(null as {{ m365_type('timestamptz') }}) as eligibility_starts_at,
        cast(null as {{ m365_type('timestamptz') }}) as eligibility_ends_at
    from active as a
    left join legacy as l
        on a.tenant_id = l.tenant_id and a.role_definition_id = l.role_definition_id
        and a.principal_id = l.principal_id and a.directory_scope_id = l.directory_scope_id
    left join unified as u
        on a.tenant_id = u.tenant_id and a.role_definition_id = u.role_definition_id
        and a.principal_id = u.principal_id and a.directory_scope_id = u.directory_scope_id
    union all
    select
        e.tenant_id, e.role_definition_id, e.principal_id, e.directory_scope_id,
        'eligible' as assignment_type,
        null, null, null, null, null,
        false as is_directory_role_member,
        null,
        e.role_eligibility_schedule_id,
        e.eligibility_member_type,
        e.eligibility_starts_at,
        e.eligibility_ends_at
    from eligible as e
),

definitions as (
    select * from {{ ref('stg_m365__role_definitions') }}
),

-- activated roles by template (a role assignment names the definition, i.e. the template for built-ins)
roles as (
    select tenant_id, role_template_id, min(role_id) as role_id, min(display_name) as display_name
    from {{ ref('stg_m365__directory_roles') }}
    group by tenant_id, role_template_id
),

registration as (
    select * from {{ ref('stg_m365__user_registration_details') }}
)

select
    h.tenant_id,
    h.assignment_type || ':' || h.role_definition_id || ':' || h.principal_id || ':' || h.directory_scope_id
        as role_assignment_key,
    coalesce(h.legacy_role_id, r.role_id) as role_id,
    h.role_definition_id,
    coalesce(d.display_name, h.legacy_role_name, r.display_name) as role_name,
    coalesce(d.role_template_id, h.role_definition_id) as role_template_id,
    d.is_built_in as is_built_in_role,
    p.tier is not null and p.tier in ('critical', 'high') as is_privileged_role,
    p.tier as role_tier,
    h.assignment_type,
    h.assignment_type = 'eligible' as is_eligible,
    h.directory_scope_id,
    {{ m365_directory_scope_type('h.directory_scope_id') }} as directory_scope_type,
    h.is_directory_role_member,
    h.role_assignment_id,
    h.role_eligibility_schedule_id,
    h.eligibility_member_type,
    h.eligibility_starts_at,
    h.eligibility_ends_at,
    h.principal_id as member_id,
    coalesce(h.legacy_member_type,
        case when u.user_id is not null then 'user'
             when sp.service_principal_id is not null then 'servicePrincipal'
             when g.group_id is not null then 'group' end) as member_type,
    coalesce(u.user_principal_name, h.legacy_user_principal_name) as user_principal_name,
    coalesce(u.display_name, sp.display_name, g.display_name, h.legacy_display_name) as display_name,
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
from holders as h
left join definitions as d
    on h.tenant_id = d.tenant_id and h.role_definition_id = d.role_definition_id
left join roles as r
    on h.tenant_id = r.tenant_id and coalesce(d.role_template_id, h.role_definition_id) = r.role_template_id
left join {{ ref('m365_privileged_roles') }} as p
    on coalesce(d.role_template_id, h.role_definition_id) = p.role_template_id
left join {{ ref('int_m365__user_activity') }} as u
    on h.tenant_id = u.tenant_id and h.principal_id = u.user_id
left join {{ ref('stg_m365__service_principals') }} as sp
    on h.tenant_id = sp.tenant_id and h.principal_id = sp.service_principal_id
left join {{ ref('stg_m365__groups') }} as g
    on h.tenant_id = g.tenant_id and h.principal_id = g.group_id
left join registration as reg
    on h.tenant_id = reg.tenant_id and h.principal_id = reg.user_id
