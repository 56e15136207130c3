package org.apache.hadoop.hive.kafka;

import java.util.List;
import org.apache.hadoop.hive.metastore.HiveMetaHook;
import org.apache.hadoop.hive.metastore.api.EnvironmentContext;
import org.apache.hadoop.hive.metastore.api.MetaException;
import org.apache.hadoop.hive.metastore.api.Table;

/**
 * Refuses bad TBLPROPERTIES before the metastore stores the table, so bad DDL fails in beeline and the
 * service never sees it. It runs inside HiveServer2's metastore client.
 */
public class KafkaStreamMetaHook implements HiveMetaHook {

  private static final TablePropertyRules RULES = TablePropertyRules.load();

  @Override
  public void preCreateTable(Table table) throws MetaException {
    validate(table);
  }

  @Override
  public void preAlterTable(Table table, EnvironmentContext context) throws MetaException {
    String op = context == null || context.getProperties() == null ? null : context.getProperties().get(ALTER_TABLE_OPERATION_TYPE);
    if (!"RENAME".equals(op)) {
      HiveMetaHook.super.preAlterTable(table, context); // Hive's own limits for handler tables (properties only)
    }
    validate(table);
  }

  private static void validate(Table table) throws MetaException {
    List<String> problems = RULES.check(table.getParameters());
    if (!problems.isEmpty()) {
      String name = table.getDbName() + "." + table.getTableName();
      StringBuilder message = new StringBuilder();
      for (String p : problems) {
        message.append(message.length() == 0 ? "" : "\n").append("table ").append(name).append(": ").append(p);
      }
      throw new MetaException(message.toString());
    }
  }

  @Override public void rollbackCreateTable(Table table) {}
  @Override public void commitCreateTable(Table table) {}
  @Override public void preDropTable(Table table) {}
  @Override public void rollbackDropTable(Table table) {}
  @Override public void commitDropTable(Table table, boolean deleteData) {}
}
