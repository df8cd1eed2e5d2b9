-- Directory audit events, with who initiated them as columns.
with source as (
    {{ m365_optional_source('directory_audits', {
        'tenant_id': 'text', 'id': 'text', 'activityDateTime': 'timestamp',
        'activityDisplayName': 'text', 'category': 'text', 'correlationId': 'text',
        'loggedByService': 'text', 'operationType': 'text', 'result': 'text', 'resultReason': 'text',
        'initiatedBy': 'json', 'targetResources': 'json_array'}) }}
)

select
    tenant_id,
    id as directory_audit_id,
    {{ m365_timestamp('"activityDateTime"') }} as activity_date_time,
    "activityDisplayName" as activity_display_name,
    category,
    "correlationId" as correlation_id,
    "loggedByService" as logged_by_service,
    "operationType" as operation_type,
    result,
    "resultReason" as result_reason,
    {{ m365_json_text('"initiatedBy"', ['user', 'id']) }} as initiated_by_user_id,
    {{ m365_json_text('"initiatedBy"', ['user', 'userPrincipalName']) }} as initiated_by_user_principal_name,
    {{ m365_json_text('"initiatedBy"', ['app', 'appId']) }} as initiated_by_app_id,
    {{ m365_json_text('"initiatedBy"', ['app', 'displayName']) }} as initiated_by_app_display_name,
    {{ m365_json_length('"targetResources"') }} as target_resource_count
from source
