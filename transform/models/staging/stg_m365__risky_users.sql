-- Users Identity Protection flags (Entra ID P2), with their risk level and state; is_at_risk: the risk is
-- still open (atRisk or confirmedCompromised). Empty when not loaded.
with source as (
    {{ m365_optional_source('risky_users', {
        'tenant_id': 'text', 'id': 'text', 'userPrincipalName': 'text', 'userDisplayName': 'text',
        'riskLevel': 'text', 'riskState': 'text', 'riskDetail': 'text',
        'riskLastUpdatedDateTime': 'timestamp', 'isDeleted': 'bool', 'isProcessing': 'bool'}) }}
)

select
    tenant_id,
    id as user_id,
    "userPrincipalName" as user_principal_name,
    "userDisplayName" as user_display_name,
    "riskLevel" as risk_level,
    "riskState" as risk_state,
    "riskDetail" as risk_detail,
    "riskState" in ('atRisk', 'confirmedCompromised') as is_at_risk,
    {{ m365_timestamp('"riskLastUpdatedDateTime"') }} as risk_last_updated_date_time,
    "isDeleted" as is_deleted,
    "isProcessing" as is_processing
from source
