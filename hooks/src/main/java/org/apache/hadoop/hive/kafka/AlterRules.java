package org.apache.hadoop.hive.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.hive.metastore.api.FieldSchema;

/**
 * The rules of src/properties/schema-change.ts, read from the rules JSON: which column changes
 * kafka.schema.compatibility allows, that kafka.topic never changes, and that Hive never writes a stream
 * table. Messages are filled from the service's own templates, so beeline and the service say the same.
 */
final class AlterRules {

  static final String TOPIC = "kafka.topic";
  private static final String COMPATIBILITY = "kafka.schema.compatibility";
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{(\\w+)\\}");
  // A primitive type with its arguments; nested types (array, map, struct) do not match and never widen.
  private static final Pattern SIZED_TYPE = Pattern.compile("^([a-z_]+)(?:\\((\\d+)(?:,(\\d+))?\\))?$");

  private final JsonNode modes;
  private final JsonNode widenings;
  private final JsonNode messages;
  private final String defaultMode;

  private AlterRules(JsonNode doc) {
    modes = doc.get("schemaChange").get("modes");
    widenings = doc.get("schemaChange").get("widenings");
    messages = doc.get("messages");
    String mode = null;
    for (JsonNode p : doc.get("properties")) if (p.get("name").asText().equals(COMPATIBILITY)) mode = p.get("default").asText();
    defaultMode = mode;
  }

  static AlterRules load() {
    return new AlterRules(TablePropertyRules.readDocument());
  }

  /** The table's compatibility mode, or null when the value is invalid (property validation reports that). */
  String modeOf(Map<String, String> params) {
    List<String> given = valuesOf(params, COMPATIBILITY);
    if (given.isEmpty()) return defaultMode;
    String mode = given.get(0).trim().toUpperCase(Locale.ROOT);
    return given.size() == 1 && modes.has(mode) ? mode : null;
  }

  /** As schemaChangeProblems in schema-change.ts: why `after` may not replace `before` under `mode`. */
  List<String> columnProblems(String table, List<FieldSchema> before, List<FieldSchema> after, String mode) {
    JsonNode rule = modes.get(mode);
    Map<String, FieldSchema> afterByName = new HashMap<>();
    for (FieldSchema c : after) afterByName.put(c.getName().toLowerCase(Locale.ROOT), c);
    List<String> problems = new ArrayList<>();
    for (FieldSchema old : before) {
      Map<String, String> values = new HashMap<>();
      values.put("table", table);
      values.put("column", old.getName().toLowerCase(Locale.ROOT));
      values.put("oldType", normalizeType(old.getType()));
      values.put("mode", mode);
      values.put("meaning", rule.get("meaning").asText());
      FieldSchema now = afterByName.get(values.get("column"));
      if (now == null) {
        if (!rule.get("dropColumns").asBoolean()) problems.add(fill("columnDropped", values));
        continue;
      }
      String newType = normalizeType(now.getType());
      String typeChanges = rule.get("typeChanges").asText();
      if (newType.equals(values.get("oldType")) || typeChanges.equals("any")) continue;
      boolean widening = isWidening(values.get("oldType"), newType);
      if (typeChanges.equals("widenings") && widening) continue;
      values.put("newType", newType);
      values.put("widenings", wideningLabels());
      values.put("allowingMode", widening ? "BACKWARD" : "NONE");
      problems.add(fill("columnTypeChanged", values));
    }
    return problems;
  }

  /** As topicChangeProblem in schema-change.ts; newTopic null means removed. Null when unchanged. */
  String topicProblem(String table, String oldTopic, String newTopic) {
    Map<String, String> values = new HashMap<>();
    values.put("table", table);
    values.put("oldTopic", oldTopic.trim());
    if (newTopic == null) return fill("topicRemoved", values);
    if (newTopic.trim().equals(oldTopic.trim())) return null;
    values.put("newTopic", newTopic.trim());
    return fill("topicChanged", values);
  }

  /** As hiveWriteRefusal in schema-change.ts. */
  String hiveWriteRefusal(String table, String topic) {
    Map<String, String> values = new HashMap<>();
    values.put("table", table);
    values.put("topic", topic);
    return fill("hiveWrite", values);
  }

  /** Every value given for `key`, whatever the key's case (validation refuses more than one). */
  static List<String> valuesOf(Map<String, String> params, String key) {
    List<String> found = new ArrayList<>();
    if (params == null) return found;
    for (Map.Entry<String, String> e : params.entrySet()) if (e.getKey().equalsIgnoreCase(key)) found.add(e.getValue());
    return found;
  }

  /** The metastore's spelling: lower case, no spaces; bare decimal is decimal(10,0) as Hive stores it. */
  static String normalizeType(String type) {
    String t = type.toLowerCase(Locale.ROOT).replaceAll("\\s+", "");
    return t.equals("decimal") ? "decimal(10,0)" : t;
  }

  boolean isWidening(String from, String to) {
    Matcher f = SIZED_TYPE.matcher(from);
    Matcher t = SIZED_TYPE.matcher(to);
    if (!f.matches() || !t.matches()) return false;
    for (JsonNode w : widenings) {
      if (!w.get("from").asText().equals(f.group(1))) continue;
      boolean target = false;
      for (JsonNode name : w.get("to")) target |= name.asText().equals(t.group(1));
      if (target && holds(w.has("when") ? w.get("when").asText() : null, f, t)) return true;
    }
    return false;
  }

  private static boolean holds(String condition, Matcher f, Matcher t) {
    if (condition == null) return true;
    boolean sized = f.group(2) != null && t.group(2) != null;
    switch (condition) {
      case "lengthNotShorter":
        return sized && Double.parseDouble(t.group(2)) >= Double.parseDouble(f.group(2));
      case "sameScaleNotLessPrecision":
        return sized && orZero(f.group(3)).equals(orZero(t.group(3))) && Double.parseDouble(t.group(2)) >= Double.parseDouble(f.group(2));
      default:
        throw new IllegalStateException("widening condition " + condition + " is not known to this hooks jar; rebuild it");
    }
  }

  private static String orZero(String scale) {
    return scale == null ? "0" : scale;
  }

  private String wideningLabels() {
    StringBuilder labels = new StringBuilder();
    for (JsonNode w : widenings) labels.append(labels.length() == 0 ? "" : "; ").append(w.get("label").asText());
    return labels.toString();
  }

  private String fill(String template, Map<String, String> values) {
    Matcher m = PLACEHOLDER.matcher(messages.get(template).asText());
    StringBuffer out = new StringBuffer();
    while (m.find()) {
      String value = values.get(m.group(1));
      m.appendReplacement(out, Matcher.quoteReplacement(value == null ? m.group() : value));
    }
    m.appendTail(out);
    return out.toString();
  }
}
