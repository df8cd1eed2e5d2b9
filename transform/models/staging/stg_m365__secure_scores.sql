-- Microsoft Secure Score, one row per day: points achieved of the maximum, and the users counted.
with source as (
    {{ m365_optional_source('secure_scores', {
        'tenant_id': 'text', 'id': 'text', 'createdDateTime': 'timestamp', 'currentScore': 'number',
        'maxScore': 'number', 'activeUserCount': 'int', 'licensedUserCount': 'int',
        'enabledServices': 'text_array', 'controlScores': 'json_array'}) }}
)

select
    tenant_id,
    id as secure_score_id,
    {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
    {{ m365_date('"createdDateTime"') }} as score_date,  -- the UTC day
    cast("currentScore" as {{ m365_type('number') }}) as current_score,
    cast("maxScore" as {{ m365_type('number') }}) as max_score,
    case when "maxScore" > 0
        then round(cast(100.0 * "currentScore" / "maxScore" as numeric), 1) end as current_score_pct,
    cast("activeUserCount" as bigint) as active_user_count,
    cast("licensedUserCount" as bigint) as licensed_user_count,
    {{ m365_string_list('"enabledServices"') }} as enabled_services,
    {{ m365_json_length('"controlScores"') }} as control_score_count
from source
