-- Conditional Access named locations: IP ranges (location_type ip) and countries (country).
with source as (
    {{ m365_optional_source('named_locations', {
        'tenant_id': 'text', 'id': 'text', 'displayName': 'text', 'location_type': 'text',
        'createdDateTime': 'timestamp', 'modifiedDateTime': 'timestamp', 'isTrusted': 'bool',
        'ipRanges': 'json_array', 'countriesAndRegions': 'text_array',
        'includeUnknownCountriesAndRegions': 'bool', 'countryLookupMethod': 'text'}) }}
)

select
    tenant_id,
    id as named_location_id,
    "displayName" as display_name,
    location_type,
    {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
    {{ m365_timestamp('"modifiedDateTime"') }} as modified_date_time,
    "isTrusted" as is_trusted,
    {{ m365_object_field_list('"ipRanges"', 'cidrAddress') }} as ip_ranges,
    {{ m365_json_length('"ipRanges"') }} as ip_range_count,
    {{ m365_string_list('"countriesAndRegions"') }} as countries_and_regions,
    "includeUnknownCountriesAndRegions" as include_unknown_countries_and_regions,
    "countryLookupMethod" as country_lookup_method
from source
