-- users.signInActivity as columns: one row per user (needs Entra ID P1/P2; empty when the stream was skipped).
with source as (
    {{ m365_optional_source('user_sign_in_activity', {
        'tenant_id': 'text', 'id': 'text', 'userPrincipalName': 'text', 'signInActivity': 'json'}) }}
)

select
    tenant_id,
    id as user_id,
    "userPrincipalName" as user_principal_name,
    {{ m365_timestamp(m365_json_text('"signInActivity"', 'lastSignInDateTime')) }} as last_sign_in_date_time,
    {{ m365_json_text('"signInActivity"', 'lastSignInRequestId') }} as last_sign_in_request_id,
    {{ m365_timestamp(m365_json_text('"signInActivity"', 'lastNonInteractiveSignInDateTime')) }}
        as last_non_interactive_sign_in_date_time,
    {{ m365_json_text('"signInActivity"', 'lastNonInteractiveSignInRequestId') }}
        as last_non_interactive_sign_in_request_id,
    {{ m365_timestamp(m365_json_text('"signInActivity"', 'lastSuccessfulSignInDateTime')) }}
        as last_successful_sign_in_date_time,
    {{ m365_json_text('"signInActivity"', 'lastSuccessfulSignInRequestId') }}
        as last_successful_sign_in_request_id
from source
