-- The controls Secure Score is made of (control_profile_id is the control name, e.g. AdminMFAV2), with
-- their points, category and effort; the newest controlStateUpdates entry as current_state.
with source as (
    {{ m365_optional_source('secure_score_control_profiles', {
        'tenant_id': 'text', 'id': 'text', 'title': 'text', 'controlCategory': 'text', 'service': 'text',
        'actionType': 'text', 'actionUrl': 'text', 'maxScore': 'number', 'rank': 'int',
        'tier': 'text', 'implementationCost': 'text', 'userImpact': 'text', 'remediation': 'text',
        'remediationImpact': 'text', 'threats': 'text_array', 'deprecated': 'bool',
        'lastModifiedDateTime': 'timestamp', 'controlStateUpdates': 'json_array'}) }}
)

select
    tenant_id,
    id as control_profile_id,
    title,
    "controlCategory" as control_category,
    service,
    "actionType" as action_type,
    "actionUrl" as action_url,
    cast("maxScore" as {{ m365_type('number') }}) as max_score,
    cast(rank as bigint) as rank,
    tier,
    "implementationCost" as implementation_cost,
    "userImpact" as user_impact,
    remediation,
    "remediationImpact" as remediation_impact,
    {{ m365_string_list('threats') }} as threats,
    deprecated as is_deprecated,
    {{ m365_timestamp('"lastModifiedDateTime"') }} as last_modified_date_time,
    {{ m365_json_length('"controlStateUpdates"') }} as control_state_update_count
from source
