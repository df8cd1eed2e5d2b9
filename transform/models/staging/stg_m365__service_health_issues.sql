-- Microsoft 365 service health issues (incidents and advisories) with their status and period.
with source as (
    {{ m365_optional_source('service_health_issues', {
        'tenant_id': 'text', 'id': 'text', 'title': 'text', 'service': 'text', 'feature': 'text',
        'featureGroup': 'text', 'classification': 'text', 'status': 'text', 'origin': 'text',
        'impactDescription': 'text', 'isResolved': 'bool', 'startDateTime': 'timestamp',
        'endDateTime': 'timestamp', 'lastModifiedDateTime': 'timestamp', 'posts': 'json_array'}) }}
)

select
    tenant_id,
    id as issue_id,
    title,
    service,
    feature,
    "featureGroup" as feature_group,
    classification,
    status,
    origin,
    "impactDescription" as impact_description,
    "isResolved" as is_resolved,
    {{ m365_timestamp('"startDateTime"') }} as start_date_time,
    {{ m365_timestamp('"endDateTime"') }} as end_date_time,
    {{ m365_timestamp('"lastModifiedDateTime"') }} as last_modified_date_time,
    {{ m365_json_length('posts') }} as post_count
from source
