-- oauth2_permission_grants.scope split: one row per (grant, delegated permission name).
with grants as (
    select * from {{ ref('stg_m365__oauth2_permission_grants') }}
),

words as (
    select
        tenant_id,
        grant_id,
        client_service_principal_id,
        resource_service_principal_id,
        consent_type,
        principal_id,
        {{ m365_split_words('scope') }} as scope_name
    from grants
    where scope is not null
)

select distinct * from words where scope_name <> ''
