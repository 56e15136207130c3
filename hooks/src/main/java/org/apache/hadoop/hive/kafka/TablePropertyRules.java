package org.apache.hadoop.hive.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The TBLPROPERTIES rules of src/properties/rules.ts, read from the JSON that `npm run gen:rules`
 * writes into this jar. Messages match the service's, so beeline and `hive-kafka validate` agree.
 */
final class TablePropertyRules {

  private final JsonNode doc;
  private final Map<String, JsonNode> byName = new HashMap<>();
  private final Map<String, Pattern> patterns = new HashMap<>();
  private final Pattern secretKey;

  private TablePropertyRules(JsonNode doc) {
    this.doc = doc;
    for (JsonNode p : doc.get("properties")) {
      byName.put(p.get("name").asText().toLowerCase(Locale.ROOT), p);
      for (JsonNode alias : p.get("aliases")) byName.put(alias.asText().toLowerCase(Locale.ROOT), p);
    }
    doc.get("patterns").fields().forEachRemaining(e -> patterns.put(e.getKey(), Pattern.compile(e.getValue().asText())));
    secretKey = Pattern.compile(doc.get("secretKeyPattern").asText(), Pattern.CASE_INSENSITIVE);
  }

  static TablePropertyRules load() {
    return new TablePropertyRules(readDocument());
  }

  /** The rules JSON itself, also read by AlterRules. */
  static JsonNode readDocument() {
    try (InputStream in = TablePropertyRules.class.getResourceAsStream("tblproperties-rules.json")) {
      if (in == null) throw new IllegalStateException("tblproperties-rules.json is missing from the hive-kafka hooks jar");
      return new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read tblproperties-rules.json from the hive-kafka hooks jar", e);
    }
  }

  /** One message per problem, in the service's words; empty when the properties are valid. */
  List<String> check(Map<String, String> params) {
    List<String> problems = new ArrayList<>();
    Map<JsonNode, String> givenAs = new HashMap<>();
    for (Map.Entry<String, String> e : params.entrySet()) {
      String key = e.getKey();
      String raw = e.getValue();
      if (!key.toLowerCase(Locale.ROOT).startsWith("kafka.")) continue;
      String prefix = extraPrefix(key);
      if (prefix != null) {
        checkExtra(key, key.substring(prefix.length()), prefix, raw, problems);
        continue;
      }
      JsonNode def = byName.get(key.toLowerCase(Locale.ROOT));
      if (def == null) {
        String hint = nearest(key);
        problems.add(invalid(key, raw, "unknown property" + (hint == null ? "" : "; did you mean " + hint + "?") + " (see README, \"TBLPROPERTIES\")"));
        continue;
      }
      if (givenAs.containsKey(def)) {
        problems.add(invalid(key, raw, key + " and " + givenAs.get(def) + " are the same property; give only one"));
        continue;
      }
      givenAs.put(def, key);
      String kind = def.get("rule").get("kind").asText();
      // A one-character delimiter may be a space or a tab: char and text rules see the value as written.
      String value = kind.equals("char") || kind.equals("text") ? raw : raw.trim();
      if (!passes(def.get("rule"), value)) problems.add(invalid(key, raw, "expected " + def.get("allowed").asText()));
    }
    checkCombinations(params, problems);
    for (JsonNode def : doc.get("properties")) {
      if (def.get("required").asBoolean() && !givenAs.containsKey(def)) {
        StringBuilder spellings = new StringBuilder("\"" + def.get("name").asText() + "\"");
        for (JsonNode alias : def.get("aliases")) spellings.append(" or \"").append(alias.asText()).append("\"");
        problems.add("property '" + def.get("name").asText() + "' is required: add TBLPROPERTIES (" + spellings + " = ...)");
      }
    }
    return problems;
  }

  /** The combinations of the rules JSON, in the service's words (parse.ts crossPropertyProblems). */
  private void checkCombinations(Map<String, String> params, List<String> problems) {
    JsonNode combinations = doc.get("combinations");
    for (JsonNode c : combinations.get("appliesWhen")) {
      String property = c.get("property").asText();
      String given = valueOf(params, property);
      String actual = effective(params, c.get("when").asText());
      if (given != null && !actual.equalsIgnoreCase(c.get("is").asText())) {
        problems.add(invalid(property, given, "it applies only to " + c.get("when").asText() + "=" + c.get("is").asText() + " (this table has " + actual.toLowerCase(Locale.ROOT) + ")"));
      }
    }
    for (JsonNode c : combinations.get("requiredWhen")) {
      if (!effective(params, c.get("when").asText()).equalsIgnoreCase(c.get("is").asText())) continue;
      boolean any = false;
      for (JsonNode p : c.get("anyOf")) any |= valueOf(params, p.asText()) != null;
      if (!any) problems.add("property '" + c.get("anyOf").get(0).asText() + "' " + c.get("message").asText());
    }
  }

  /** The value given for a property under its name or an alias (case-insensitive), or null. */
  private String valueOf(Map<String, String> params, String property) {
    JsonNode def = byName.get(property.toLowerCase(Locale.ROOT));
    for (Map.Entry<String, String> e : params.entrySet()) {
      if (byName.get(e.getKey().toLowerCase(Locale.ROOT)) == def) return e.getValue();
    }
    return null;
  }

  private String effective(Map<String, String> params, String property) {
    String v = valueOf(params, property);
    return v != null ? v.trim() : byName.get(property.toLowerCase(Locale.ROOT)).get("default").asText();
  }

  private String extraPrefix(String key) {
    for (JsonNode p : doc.get("extraPrefixes")) if (key.startsWith(p.asText())) return p.asText();
    return null;
  }

  private void checkExtra(String key, String clientKey, String prefix, String raw, List<String> problems) {
    Set<String> reserved = new HashSet<>();
    for (JsonNode r : doc.get("reservedClientKeys")) reserved.add(r.asText());
    if (clientKey.isEmpty()) {
      problems.add(invalid(key, raw, "needs a Kafka client setting after \"" + prefix + "\", e.g. " + prefix + "session.timeout.ms"));
    } else if (reserved.contains(clientKey)) {
      problems.add(invalid(key, raw, clientKey + " is managed by hive-kafka and cannot be overridden"));
    } else if (secretKey.matcher(clientKey).find()) {
      problems.add(invalid(key, "***", "secrets must not live in TBLPROPERTIES (anyone with DESCRIBE can read them); put them in a credentials profile of the service config and set kafka.credentials.profile"));
    }
  }

  private boolean passes(JsonNode rule, String v) {
    switch (rule.get("kind").asText()) {
      case "topic": return patterns.get("topic").matcher(v).matches() && !v.equals(".") && !v.equals("..");
      case "brokers":
        for (String hp : v.split(",", -1)) {
          Matcher m = patterns.get("broker").matcher(hp.trim());
          if (!m.matches()) return false;
          int port = Integer.parseInt(m.group(2));
          if (port < 1 || port > 65535) return false;
        }
        return true;
      case "int":
        if (!patterns.get("integer").matcher(v).matches()) return false;
        long n = Long.parseLong(v);
        return n >= rule.get("min").asLong() && n <= rule.get("max").asLong();
      case "ratio":
        try {
          double d = Double.parseDouble(v);
          return !v.isEmpty() && !Double.isNaN(d) && d >= 0 && d <= 1;
        } catch (NumberFormatException e) {
          return false;
        }
      case "bool": return v.equalsIgnoreCase("true") || v.equalsIgnoreCase("false");
      case "enum":
        for (JsonNode allowed : rule.get("values")) if (allowed.asText().equalsIgnoreCase(v)) return true;
        return false;
      case "startOffset":
        return v.equalsIgnoreCase("earliest") || v.equalsIgnoreCase("latest") || patterns.get("epochMs").matcher(v).matches();
      case "name": return patterns.get("name").matcher(v).matches();
      case "url": return v.isEmpty() || patterns.get("url").matcher(v).matches();
      case "char": return v.codePointCount(0, v.length()) == 1;
      case "text": return true;
      // Only the service can parse the SELECT against the columns; here: that it is one.
      case "select": return v.isEmpty() || patterns.get("select").matcher(v + " ").find();
      default: throw new IllegalStateException("rule kind " + rule.get("kind") + " is not known to this hooks jar; rebuild it");
    }
  }

  private String nearest(String name) {
    String best = null;
    int bestDistance = 4;
    for (JsonNode def : doc.get("properties")) {
      String candidate = def.get("name").asText();
      int d = editDistance(name.toLowerCase(Locale.ROOT), candidate.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        bestDistance = d;
        best = candidate;
      }
    }
    return best;
  }

  private static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) prev[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      int[] cur = new int[b.length() + 1];
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        cur[j] = Math.min(Math.min(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
      }
      prev = cur;
    }
    return prev[b.length()];
  }

  private static String invalid(String key, String value, String why) {
    return "property '" + key + "' = '" + value + "' is invalid: " + why;
  }
}
