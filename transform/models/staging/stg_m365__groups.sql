-- One row per live group; group_kind tells Microsoft 365, security, mail-enabled security and distribution apart.
with source as (
    {{ m365_live_source('groups') }}
),

renamed as (
    select
        tenant_id,
        id as group_id,
        "displayName" as display_name,
        description,
        mail,
        "mailEnabled" as mail_enabled,
        "mailNickname" as mail_nickname,
        "securityEnabled" as security_enabled,
        {{ m365_string_list('"groupTypes"') }} as group_types,
        {{ m365_json_contains('"groupTypes"', "'Unified'") }} as is_microsoft_365_group,
        {{ m365_json_contains('"groupTypes"', "'DynamicMembership'") }} as is_dynamic,
        "membershipRule" as membership_rule,
        "membershipRuleProcessingState" as membership_rule_processing_state,
        visibility,
        classification,
        "isAssignableToRole" as is_assignable_to_role,
        {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
        {{ m365_timestamp('"renewedDateTime"') }} as renewed_date_time,
        {{ m365_timestamp('"expirationDateTime"') }} as expiration_date_time,
        {{ m365_string_list('"proxyAddresses"') }} as proxy_addresses,
        {{ m365_string_list('"resourceProvisioningOptions"') }} as resource_provisioning_options,
        "securityIdentifier" as security_identifier,
        theme,
        "preferredDataLocation" as preferred_data_location,
        "onPremisesSyncEnabled" as on_premises_sync_enabled,
        {{ m365_timestamp('"onPremisesLastSyncDateTime"') }} as on_premises_last_sync_date_time,
        "onPremisesSamAccountName" as on_premises_sam_account_name,
        "onPremisesSecurityIdentifier" as on_premises_security_identifier
    from source
)

select
    *,
    case
        when is_microsoft_365_group then 'microsoft_365'
        when security_enabled and mail_enabled then 'mail_enabled_security'
        when security_enabled then 'security'
        when mail_enabled then 'distribution'
        else 'other'
    end as group_kind
from renamed
