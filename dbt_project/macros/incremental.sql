{#-
  Incremental per-order models: only the orders whose raw rows changed since the model's last
  build are recomputed.

  How a run works (materialized='incremental', incremental_strategy='append'):
    1. pre-hook `incremental_prepare`: reads the model's row in incremental_state.watermarks (the
       newest dlt load it has seen, the as_of and a hash of every other var). When all three allow
       it, it writes the keys to recompute to incremental_state.<model>__keys (keys whose raw rows
       carry a `_dlt_load_id` newer than the watermark, their counterparts on the other platform,
       and rows whose time rules can flip between the stored and the new as_of) and deletes those
       keys from the model. Otherwise (no state, other vars) it empties the model: everything is
       rebuilt.
    2. the model's select keeps only those keys (`incremental_filter`) and dbt appends the rows.
    3. post-hook `incremental_finish`: stamps the new as_of on the rows that were not rebuilt
       (detected_at), and records the watermark.
  Deleting before appending (rather than delete+insert on the new rows' keys) also removes rows
  whose key produces no row any more, e.g. an orphan Shopify order that now links to a TikTok order.
  `dbt build --full-refresh` rebuilds the table from scratch and records a fresh watermark.

  Everything here is portable SQL (create schema/table, delete … using, update), so the same
  models run on DuckDB and PostgreSQL.
-#}

{% macro incremental_state_schema() -%}incremental_state{%- endmacro %}

{#-
  on-run-start: the state schema and the watermarks table, created once before any model runs.
  Models running in parallel threads must not create them: concurrent DDL on one schema is a
  write-write conflict in DuckDB.
-#}
{% macro incremental_state_setup() -%}
    create schema if not exists {{ shoptok.incremental_state_schema() }};
    create table if not exists {{ shoptok.incremental_state_schema() }}.watermarks (
        model_name varchar, load_watermark varchar, as_of varchar, vars_hash varchar, built_at {{ dbt.type_timestamp() }}
    );
{%- endmacro %}

{% macro incremental_keys_relation() -%}
    {{ return(api.Relation.create(database=this.database, schema=shoptok.incremental_state_schema(), identifier=this.identifier ~ '__keys', type='table')) }}
{%- endmacro %}

{% macro incremental_watermarks_relation() -%}
    {{ return(api.Relation.create(database=this.database, schema=shoptok.incremental_state_schema(), identifier='watermarks', type='table')) }}
{%- endmacro %}

{#- Every var except as_of, hashed: a changed rule parameter forces a full rebuild. -#}
{% macro incremental_vars_hash() -%}
    {%- set names = ['order_link_priority', 'order_link_attribute_key', 'order_link_tag_prefix', 'tiktok_source_names',
        'hold_window_minutes', 'hold_grace_minutes', 'tracking_sla_hours', 'refund_decision_window_days',
        'refund_alert_horizon_hours', 'unpaid_statement_days', 'money_tolerance'] -%}
    {%- set values = [] -%}
    {%- for name in names -%}{%- do values.append(name ~ '=' ~ tojson(var(name))) -%}{%- endfor -%}
    {{ return(local_md5(values | join(';'))) }}
{%- endmacro %}

{#- The newest completed dlt load of either platform ('' when nothing was loaded by dlt). -#}
{% macro incremental_current_watermark() -%}
    {%- set parts = [] -%}
    {%- for schema in [source('shopify', 'orders').schema, source('tiktok_shop', 'orders').schema] -%}
        {%- set loads = adapter.get_relation(database=this.database, schema=schema, identifier='_dlt_loads') -%}
        {%- if loads is not none -%}{%- do parts.append('select max(load_id) as load_id from ' ~ loads) -%}{%- endif -%}
    {%- endfor -%}
    {%- if parts | length == 0 -%}{{ return('') }}{%- endif -%}
    {%- set result = run_query('select max(load_id) from (' ~ (parts | join(' union all ')) ~ ') as loads') -%}
    {{ return(result.columns[0].values()[0] or '') }}
{%- endmacro %}

{#- The model's stored state: {'watermark', 'as_of', 'vars_hash'} or none. -#}
{% macro incremental_stored_state() -%}
    {%- set state = adapter.get_relation(database=this.database, schema=shoptok.incremental_state_schema(), identifier='watermarks') -%}
    {%- if state is none -%}{{ return(none) }}{%- endif -%}
    {%- set result = run_query("select load_watermark, as_of, vars_hash from " ~ state ~ " where model_name = '" ~ this.identifier ~ "'") -%}
    {%- if result.rows | length == 0 -%}{{ return(none) }}{%- endif -%}
    {%- set row = result.rows[0] -%}
    {{ return({'watermark': row[0], 'as_of': row[1], 'vars_hash': row[2]}) }}
{%- endmacro %}

{#-
  'keys' (recompute the changed keys only) or 'all' (rebuild every row). Evaluated the same way by
  the model's select and by its pre-hook, from state that only the post-hook changes.
-#}
{% macro incremental_mode() -%}
    {#- unit tests render models with no relation behind `this` -#}
    {%- if not execute or this is none or not is_incremental() -%}{{ return('all') }}{%- endif -%}
    {%- set stored = shoptok.incremental_stored_state() -%}
    {%- if stored is none or stored['watermark'] in (none, '') -%}{{ return('all') }}{%- endif -%}
    {%- if stored['vars_hash'] != shoptok.incremental_vars_hash() -%}{{ return('all') }}{%- endif -%}
    {{ return('keys') }}
{%- endmacro %}

{#- Keep only the rows whose key is to be recomputed (nothing to filter on a full build). -#}
{% macro incremental_filter(alias, key_columns) -%}
    {%- if shoptok.incremental_mode() == 'keys' -%}
    exists (
        select 1 from {{ shoptok.incremental_keys_relation() }} as changed_keys
        where {% for col in key_columns %}changed_keys.{{ col }} = {{ alias }}.{{ col }}{% if not loop.last %} and {% endif %}{% endfor %}
    )
    {%- else -%}
    1 = 1
    {%- endif -%}
{%- endmacro %}

{#- Shopify orders whose order row or any child row arrived in a load newer than `watermark`. -#}
{% macro changed_shopify_orders(watermark, with_children=true) -%}
    select connection_id, id as shopify_order_id from {{ source('shopify', 'orders') }}
    where _dlt_load_id > '{{ watermark }}'
    {%- if with_children %}
    {%- for table in ['order_line_items', 'order_transactions', 'order_fulfillments', 'order_fulfillment_orders',
        'order_fulfillment_order_line_items', 'order_refunds', 'order_refund_line_items',
        'order_refund_shipping_lines', 'order_refund_transactions'] %}
    union
    select connection_id, order_id as shopify_order_id from {{ source('shopify', table) }}
    where _dlt_load_id > '{{ watermark }}'
    {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- Shopify orders whose rows changed, or one of whose lines' variants changed (its inventory item). -#}
{% macro changed_shopify_order_lines(watermark) -%}
    {{ shoptok.changed_shopify_orders(watermark) }}
    union
    select order_lines.connection_id, order_lines.order_id as shopify_order_id
    from {{ source('shopify', 'order_line_items') }} as order_lines
    inner join {{ source('shopify', 'product_variants') }} as variants
        on order_lines.connection_id = variants.connection_id and order_lines.variant_id = variants.id
    where variants._dlt_load_id > '{{ watermark }}'
{%- endmacro %}

{#-
  TikTok order ids touched since `watermark`: the order or its lines, returns and cancellations
  changed, or a Shopify order linked to it changed (its new link from int_shopify_orders_linked,
  which is built first, and its old link from the model's own rows).
-#}
{% macro changed_tiktok_orders(watermark) -%}
    select connection_id, id as tiktok_order_id from {{ source('tiktok_shop', 'orders') }}
    where _dlt_load_id > '{{ watermark }}'
    {%- for table in ['order_line_items', 'returns', 'return_line_items', 'cancellations', 'cancellation_line_items'] %}
    union
    select connection_id, order_id as tiktok_order_id from {{ source('tiktok_shop', table) }}
    where _dlt_load_id > '{{ watermark }}'
    {%- endfor %}
    union
    select linked.connection_id, linked.tiktok_order_id
    from {{ ref('int_shopify_orders_linked') }} as linked
    inner join ({{ shoptok.changed_shopify_orders(watermark) }}) as changed_shopify
        on linked.connection_id = changed_shopify.connection_id
        and linked.shopify_order_id = changed_shopify.shopify_order_id
    where linked.tiktok_order_id is not null
    union
    select existing.connection_id, existing.tiktok_order_id
    from {{ this }} as existing
    inner join ({{ shoptok.changed_shopify_orders(watermark) }}) as changed_shopify
        on existing.connection_id = changed_shopify.connection_id
        and existing.shopify_order_id = changed_shopify.shopify_order_id
{%- endmacro %}

{#-
  Rows whose time rule can change between the stored as_of and this run's: `column` (optionally
  shifted by `offset_hours`, as the rule shifts as_of) between the two clocks, bounds included.
-#}
{% macro as_of_window(column, old_as_of, offset_hours=0) -%}
    {%- set old_clock = "cast('" ~ old_as_of ~ "' as " ~ dbt.type_timestamp() ~ ")" -%}
    {%- set old_edge = dbt.dateadd('hour', offset_hours, old_clock) if offset_hours else old_clock -%}
    {%- set new_edge = dbt.dateadd('hour', offset_hours, shoptok.as_of()) if offset_hours else shoptok.as_of() -%}
    ({{ column }} between {{ old_edge }} and {{ new_edge }} or {{ column }} between {{ new_edge }} and {{ old_edge }})
{%- endmacro %}

{#-
  pre-hook. `changed` says which orders key the model ('tiktok_orders', 'shopify_orders' or
  'shopify_order_lines');
  `time_rules` lists (column, offset_hours) pairs of the model's rows that a new as_of re-evaluates;
  `always_where` selects rows of the model to recompute on every run.
-#}
{% macro incremental_prepare(key_columns, changed='tiktok_orders', time_rules=[], always_where=none) -%}
    {%- if not execute or not is_incremental() -%}{{ return('select 1') }}{%- endif -%}
    {%- set mode = shoptok.incremental_mode() -%}
    {%- if mode == 'all' -%}
        {%- do run_query('delete from ' ~ this) -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set stored = shoptok.incremental_stored_state() -%}
    {%- set keys = shoptok.incremental_keys_relation() -%}
    {%- if changed == 'shopify_orders' -%}
        {%- set select_keys = shoptok.changed_shopify_orders(stored['watermark'], with_children=false) -%}
    {%- elif changed == 'shopify_order_lines' -%}
        {%- set select_keys = shoptok.changed_shopify_order_lines(stored['watermark']) -%}
    {%- else -%}
        {%- set select_keys = shoptok.changed_tiktok_orders(stored['watermark']) -%}
    {%- endif -%}
    {%- set key_list = key_columns | join(', ') -%}
    {%- set windows = [] -%}
    {%- if always_where -%}
        {%- do windows.append('select ' ~ key_list ~ ' from ' ~ this ~ ' where ' ~ always_where) -%}
    {%- endif -%}
    {%- if stored['as_of'] != var('as_of') -%}
        {%- for column, offset_hours in time_rules -%}
            {%- do windows.append('select ' ~ key_list ~ ' from ' ~ this ~ ' where ' ~ shoptok.as_of_window(column, stored['as_of'], offset_hours)) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set sql -%}
        {{ shoptok.create_if_missing('create schema if not exists ' ~ shoptok.incremental_state_schema()) }};
        drop table if exists {{ keys }};
        create table {{ keys }} as
        select distinct {{ key_list }} from (
            {{ select_keys }}
            {%- for window in windows %}
            union
            {{ window }}
            {%- endfor %}
        ) as changed;
        delete from {{ this }} as target using {{ keys }} as changed_keys
        where {% for col in key_columns %}target.{{ col }} = changed_keys.{{ col }}{% if not loop.last %} and {% endif %}{% endfor %};
    {%- endset -%}
    {{ return(sql) }}
{%- endmacro %}

{#- post-hook: the new as_of on rows kept from earlier runs, then the watermark for the next run. -#}
{% macro incremental_finish(stamp_detected_at=false) -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set state = shoptok.incremental_watermarks_relation() -%}
    {%- set sql -%}
        {%- if stamp_detected_at and is_incremental() %}
        update {{ this }} set detected_at = {{ shoptok.as_of() }} where detected_at != {{ shoptok.as_of() }};
        {%- endif %}
        {{ shoptok.create_if_missing('create schema if not exists ' ~ shoptok.incremental_state_schema()) }};
        {{ shoptok.create_if_missing('create table if not exists ' ~ state ~ ' (model_name varchar, load_watermark varchar, '
            ~ 'as_of varchar, vars_hash varchar, built_at ' ~ dbt.type_timestamp() ~ ')') }};
        delete from {{ state }} where model_name = '{{ this.identifier }}';
        insert into {{ state }} (model_name, load_watermark, as_of, vars_hash, built_at)
        values (
            '{{ this.identifier }}', '{{ shoptok.incremental_current_watermark() }}', '{{ var("as_of") }}',
            '{{ shoptok.incremental_vars_hash() }}', {{ dbt.current_timestamp() }}
        );
    {%- endset -%}
    {{ return(sql) }}
{%- endmacro %}
