-- Conditional Access policies (Entra ID P1): state, who and what they cover, and what they require.
-- The conditions' lists as sorted comma-separated text (users/groups/roles one row each in
-- stg_m365__conditional_access_policy_users); session controls kept as JSON text.
with source as (
    {{ m365_optional_source('conditional_access_policies', {
        'tenant_id': 'text', 'id': 'text', 'displayName': 'text', 'description': 'text', 'state': 'text',
        'createdDateTime': 'timestamp', 'modifiedDateTime': 'timestamp', 'templateId': 'text',
        'deletedDateTime': 'timestamp', 'conditions': 'json', 'grantControls': 'json',
        'sessionControls': 'json'}) }}
)

select
    tenant_id,
    id as policy_id,
    "displayName" as display_name,
    description,
    state,
    state = 'enabled' as is_enforced,
    {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
    {{ m365_timestamp('"modifiedDateTime"') }} as modified_date_time,
    "templateId" as template_id,
    {{ m365_json_contains(m365_json_path('conditions', ['users', 'includeUsers']), "'All'") }} as includes_all_users,
    {{ m365_string_list(m365_json_path('conditions', ['users', 'includeUsers'])) }} as include_users,
    {{ m365_string_list(m365_json_path('conditions', ['users', 'excludeUsers'])) }} as exclude_users,
    {{ m365_string_list(m365_json_path('conditions', ['users', 'includeGroups'])) }} as include_groups,
    {{ m365_string_list(m365_json_path('conditions', ['users', 'excludeGroups'])) }} as exclude_groups,
    {{ m365_string_list(m365_json_path('conditions', ['users', 'includeRoles'])) }} as include_roles,
    {{ m365_string_list(m365_json_path('conditions', ['users', 'excludeRoles'])) }} as exclude_roles,
    {{ m365_string_list(m365_json_path('conditions', ['applications', 'includeApplications'])) }} as include_applications,
    {{ m365_string_list(m365_json_path('conditions', ['applications', 'excludeApplications'])) }} as exclude_applications,
    {{ m365_string_list(m365_json_path('conditions', ['locations', 'includeLocations'])) }} as include_locations,
    {{ m365_string_list(m365_json_path('conditions', ['locations', 'excludeLocations'])) }} as exclude_locations,
    {{ m365_string_list(m365_json_path('conditions', ['platforms', 'includePlatforms'])) }} as include_platforms,
    {{ m365_string_list(m365_json_path('conditions', 'clientAppTypes')) }} as client_app_types,
    {{ m365_string_list(m365_json_path('conditions', 'signInRiskLevels')) }} as sign_in_risk_levels,
    {{ m365_string_list(m365_json_path('conditions', 'userRiskLevels')) }} as user_risk_levels,
    {{ m365_json_text('"grantControls"', 'operator') }} as grant_operator,
    {{ m365_string_list(m365_json_path('"grantControls"', 'builtInControls')) }} as grant_built_in_controls,
    {{ m365_json_contains(m365_json_path('"grantControls"', 'builtInControls'), "'mfa'") }} as requires_mfa,
    {{ m365_json_contains(m365_json_path('"grantControls"', 'builtInControls'), "'block'") }} as blocks_access,
    {{ m365_json_string('"sessionControls"') }} as session_controls
from source
