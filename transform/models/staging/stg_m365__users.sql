-- One row per live user (deleted ones excluded). Guests' external address is parsed from the #EXT# UPN.
with source as (
    {{ m365_live_source('users') }}
),

renamed as (
    select
        tenant_id,
        id as user_id,
        "userPrincipalName" as user_principal_name,
        lower("userPrincipalName") as user_principal_name_lower,
        "displayName" as display_name,
        "givenName" as given_name,
        surname,
        mail,
        email,
        "mailNickname" as mail_nickname,
        "accountEnabled" as account_enabled,
        "userType" as user_type,
        "creationType" as creation_type,
        "externalUserState" as external_user_state,
        {{ m365_timestamp('"externalUserStateChangeDateTime"') }} as external_user_state_change_date_time,
        {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
        {{ m365_timestamp('"lastPasswordChangeDateTime"') }} as last_password_change_date_time,
        {{ m365_timestamp('"signInSessionsValidFromDateTime"') }} as sign_in_sessions_valid_from_date_time,
        "passwordPolicies" as password_policies,
        department,
        "jobTitle" as job_title,
        "companyName" as company_name,
        "officeLocation" as office_location,
        "employeeId" as employee_id,
        "employeeType" as employee_type,
        {{ m365_timestamp('"employeeHireDate"') }} as employee_hire_date,
        "usageLocation" as usage_location,
        "preferredLanguage" as preferred_language,
        country,
        state,
        city,
        "streetAddress" as street_address,
        "postalCode" as postal_code,
        "mobilePhone" as mobile_phone,
        {{ m365_string_list('"businessPhones"') }} as business_phones,
        {{ m365_string_list('"otherMails"') }} as other_mails,
        {{ m365_string_list('"proxyAddresses"') }} as proxy_addresses,
        "ageGroup" as age_group,
        "showInAddressList" as show_in_address_list,
        "securityIdentifier" as security_identifier,
        {{ m365_json_length('"assignedLicenses"') }} as assigned_license_count,
        "onPremisesSyncEnabled" as on_premises_sync_enabled,
        {{ m365_timestamp('"onPremisesLastSyncDateTime"') }} as on_premises_last_sync_date_time,
        "onPremisesImmutableId" as on_premises_immutable_id,
        "onPremisesSamAccountName" as on_premises_sam_account_name,
        "onPremisesUserPrincipalName" as on_premises_user_principal_name,
        "onPremisesDomainName" as on_premises_domain_name,
        "onPremisesDistinguishedName" as on_premises_distinguished_name,
        "onPremisesSecurityIdentifier" as on_premises_security_identifier,
        -- alex.smith_fabrikam.com#EXT#@contoso.onmicrosoft.com: the part before #EXT#, with its last '_'
        -- back to '@' (Entra replaced the '@' of the invited address)
        case when "userPrincipalName" like '%#EXT#%' then
            regexp_replace(split_part("userPrincipalName", '#EXT#', 1), '_([^_]*)$', '@\1')
        end as guest_external_address
    from source
)

select
    *,
    coalesce(user_type = 'Guest' or guest_external_address is not null, false) as is_guest,
    lower(split_part(guest_external_address, '@', 2)) as guest_external_domain,
    lower(split_part(user_principal_name, '@', 2)) as user_principal_name_domain
from renamed
