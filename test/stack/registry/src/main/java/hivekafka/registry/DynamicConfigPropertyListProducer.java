package hivekafka.registry;

import java.util.List;

import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;

/**
 * Stand-in for the Quarkus extension apicurio-common-app-components-config-index, whose
 * deployment module (io.apicurio:apicurio-common-app-components-config-index-deployment) is
 * not served by the Maven repository here. That extension only builds the list of
 * "dynamic" (admin-editable at runtime) config properties. With an empty list every
 * property keeps its static value from application.properties / env, which is all the
 * tests need. The registry itself is apicurio-registry-app, unchanged.
 */
@ApplicationScoped
public class DynamicConfigPropertyListProducer {

    @Produces
    @Singleton
    DynamicConfigPropertyList dynamicConfigPropertyList() {
        return new DynamicConfigPropertyList(List.of());
    }
}
