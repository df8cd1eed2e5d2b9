-- Conditional Access policies' users condition, one row per (policy, include/exclude, user/group/role,
-- target). target_id is an object id (a role's template id for roles) or one of Graph's keywords
-- (All, None, GuestsOrExternalUsers).
with policies as (
    {{ m365_optional_source('conditional_access_policies', {
        'tenant_id': 'text', 'id': 'text', 'displayName': 'text', 'state': 'text', 'conditions': 'json'}) }}
),

{%- set lists = [('include', 'user', 'includeUsers'), ('exclude', 'user', 'excludeUsers'),
                 ('include', 'group', 'includeGroups'), ('exclude', 'group', 'excludeGroups'),
                 ('include', 'role', 'includeRoles'), ('exclude', 'role', 'excludeRoles')] %}

targets as (
    {%- for inclusion, target_type, key in lists %}
    select
        tenant_id,
        id as policy_id,
        "displayName" as policy_display_name,
        state as policy_state,
        '{{ inclusion }}' as inclusion,
        '{{ target_type }}' as target_type,
        {{ m365_json_text_elements(m365_json_path('conditions', ['users', key])) }} as target_id
    from policies
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select distinct
    tenant_id,
    policy_id,
    policy_display_name,
    policy_state,
    inclusion,
    target_type,
    target_id,
    target_id in ('All', 'None', 'GuestsOrExternalUsers') as is_keyword
from targets
where target_id is not null and target_id <> ''
