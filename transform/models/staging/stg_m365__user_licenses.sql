-- One row per (user, SKU), with the SKU's part number, the plans switched off and, where the tap
-- provides them, how the licence was assigned (directly, by groups), its state and when that last
-- changed. A licence a group could not assign (assignment_state Error) is not assigned: is_assigned is false.
with source as (
    {{ m365_optional_source('user_licenses', {
        'tenant_id': 'text', 'user_id': 'text', 'userPrincipalName': 'text', 'skuId': 'text',
        'skuPartNumber': 'text', 'disabledPlans': 'text_array', 'assigned_directly': 'bool',
        'assigned_by_groups': 'text_array', 'assignment_state': 'text',
        'assignment_errors': 'text_array', 'licenseAssignmentStates': 'json_array'}) }}
)

select
    tenant_id,
    user_id,
    "userPrincipalName" as user_principal_name,
    "skuId" as sku_id,
    "skuPartNumber" as sku_part_number,
    {{ m365_string_list('"disabledPlans"') }} as disabled_plan_ids,
    {{ m365_json_length('"disabledPlans"') }} as disabled_plan_count,
    assigned_directly,
    {{ m365_string_list('assigned_by_groups') }} as assigned_by_group_ids,
    assignment_state,
    {{ m365_string_list('assignment_errors') }} as assignment_errors,
    -- licenseAssignmentStates of this SKU (a direct one and one per licensing group): the newest change
    {{ m365_timestamp(m365_object_field_max('"licenseAssignmentStates"', 'lastUpdatedDateTime')) }}
        as assignment_updated_date_time,
    coalesce(assignment_state, 'Active') <> 'Error' as is_assigned
from source
