/**
 * The imports Confluent's registry knows without a reference (`ProtobufSchema.KNOWN_DEPENDENCIES`):
 * Google's well-known types, `google/type/*` and Confluent's own. Only what type resolution and the
 * compatibility checker need is kept: each file's package and the messages and enums it declares
 * (nested ones with their dotted path), and the two Confluent files as text, since schemas use their
 * custom options (`confluent.field_meta`…).
 *
 * @module
 */

/** Declared types of a well-known file: `M` message, `E` enum. */
export interface WellKnownFile {
  readonly packageName: string;
  readonly messages: readonly string[];
  readonly enums: readonly string[];
}

function file(packageName: string, messages: string, enums = ""): WellKnownFile {
  const list = (s: string) => (s === "" ? [] : s.split(" "));
  return { packageName, messages: list(messages), enums: list(enums) };
}

const GP = "google.protobuf";
const GT = "google.type";

/** Well-known imports described by their declared types. */
export const WELL_KNOWN_TYPES: ReadonlyMap<string, WellKnownFile> = new Map([
  ["google/protobuf/any.proto", file(GP, "Any")],
  ["google/protobuf/api.proto", file(GP, "Api Method Mixin")],
  [
    "google/protobuf/descriptor.proto",
    file(
      GP,
      "FileDescriptorSet FileDescriptorProto DescriptorProto DescriptorProto.ExtensionRange " +
        "DescriptorProto.ReservedRange ExtensionRangeOptions ExtensionRangeOptions.Declaration " +
        "FieldDescriptorProto OneofDescriptorProto EnumDescriptorProto " +
        "EnumDescriptorProto.EnumReservedRange EnumValueDescriptorProto ServiceDescriptorProto " +
        "MethodDescriptorProto FileOptions MessageOptions FieldOptions FieldOptions.EditionDefault " +
        "FieldOptions.FeatureSupport OneofOptions EnumOptions EnumValueOptions ServiceOptions " +
        "MethodOptions UninterpretedOption UninterpretedOption.NamePart FeatureSet " +
        "FeatureSetDefaults FeatureSetDefaults.FeatureSetEditionDefault SourceCodeInfo " +
        "SourceCodeInfo.Location GeneratedCodeInfo GeneratedCodeInfo.Annotation",
      "Edition ExtensionRangeOptions.VerificationState FieldDescriptorProto.Type " +
        "FieldDescriptorProto.Label FileOptions.OptimizeMode FieldOptions.CType FieldOptions.JSType " +
        "FieldOptions.OptionRetention FieldOptions.OptionTargetType MethodOptions.IdempotencyLevel " +
        "FeatureSet.FieldPresence FeatureSet.EnumType FeatureSet.RepeatedFieldEncoding " +
        "FeatureSet.Utf8Validation FeatureSet.MessageEncoding FeatureSet.JsonFormat " +
        "GeneratedCodeInfo.Annotation.Semantic",
    ),
  ],
  ["google/protobuf/duration.proto", file(GP, "Duration")],
  ["google/protobuf/empty.proto", file(GP, "Empty")],
  ["google/protobuf/field_mask.proto", file(GP, "FieldMask")],
  ["google/protobuf/source_context.proto", file(GP, "SourceContext")],
  ["google/protobuf/struct.proto", file(GP, "Struct Value ListValue", "NullValue")],
  ["google/protobuf/timestamp.proto", file(GP, "Timestamp")],
  ["google/protobuf/type.proto", file(GP, "Type Field Enum EnumValue Option", "Field.Kind Field.Cardinality Syntax")],
  [
    "google/protobuf/wrappers.proto",
    file(GP, "DoubleValue FloatValue Int64Value UInt64Value Int32Value UInt32Value BoolValue StringValue BytesValue"),
  ],
  ["google/type/calendar_period.proto", file(GT, "", "CalendarPeriod")],
  ["google/type/color.proto", file(GT, "Color")],
  ["google/type/date.proto", file(GT, "Date")],
  ["google/type/datetime.proto", file(GT, "DateTime TimeZone")],
  ["google/type/dayofweek.proto", file(GT, "", "DayOfWeek")],
  ["google/type/decimal.proto", file(GT, "Decimal")],
  ["google/type/expr.proto", file(GT, "Expr")],
  ["google/type/fraction.proto", file(GT, "Fraction")],
  ["google/type/interval.proto", file(GT, "Interval")],
  ["google/type/latlng.proto", file(GT, "LatLng")],
  ["google/type/money.proto", file(GT, "Money")],
  ["google/type/month.proto", file(GT, "", "Month")],
  ["google/type/phone_number.proto", file(GT, "PhoneNumber PhoneNumber.ShortCode")],
  ["google/type/postal_address.proto", file(GT, "PostalAddress")],
  ["google/type/quaternion.proto", file(GT, "Quaternion")],
  ["google/type/timeofday.proto", file(GT, "TimeOfDay")],
  ["confluent/type/variant.proto", file("confluent.type", "Variant")],
]);

/** Well-known imports kept as text (parsed like a reference). */
export const WELL_KNOWN_TEXTS: ReadonlyMap<string, string> = new Map([
  [
    "confluent/meta.proto",
    `syntax = "proto3";
package confluent;

import "google/protobuf/descriptor.proto";

message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
  repeated Rule rules = 4;
}
message Rule {
  string name = 1;
  string doc = 2;
  string expr = 3;
  string sql = 4;
}

extend google.protobuf.FileOptions {
  Meta file_meta = 1088;
}
extend google.protobuf.MessageOptions {
  Meta message_meta = 1088;
}
extend google.protobuf.FieldOptions {
  Meta field_meta = 1088;
}
extend google.protobuf.EnumOptions {
  Meta enum_meta = 1088;
}
extend google.protobuf.EnumValueOptions {
  Meta enum_value_meta = 1088;
}
`,
  ],
  [
    "confluent/type/decimal.proto",
    `syntax = "proto3";
package confluent.type;

message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
`,
  ],
]);
