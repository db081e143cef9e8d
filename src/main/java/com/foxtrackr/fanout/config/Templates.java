package com.foxtrackr.fanout.config;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.camel.CamelContext;
import org.apache.camel.builder.TemplatedRouteBuilder;
import org.apache.camel.model.Model;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.model.RouteTemplateDefinition;
import org.apache.camel.model.RouteTemplateParameterDefinition;

/**
 * Routes made from the templates in routes/ with an instance's properties, each checked first: a missing required
 * parameter, a misspelt option, a number that is not one, a sink's steps that name no route all stop the start,
 * naming the property.
 */
public final class Templates {
    private Templates() {
    }

    /**
     * Creates a route from a template: each of the template's parameters is read from prefix + parameter name,
     * falling back to the template's default, unless the product gives it; a missing required one, or a property
     * that is neither a parameter nor one of the common options, fails the start with the property's name.
     */
    public static Map<String, String> instantiate(CamelContext context, Settings settings, String templateId, String routeId,
            String prefix, String name, Set<String> commonOptions, Map<String, String> given) {
        RouteTemplateDefinition template = context.getCamelContextExtension().getContextPlugin(Model.class)
                .getRouteTemplateDefinition(templateId);
        if (template == null) {
            throw new ConfigException(prefix + "type", "names no known type: there is no route template '" + templateId
                    + "' in routes/ (known: " + knownTypes(context) + ")");
        }
        Map<String, String> values = new LinkedHashMap<>();
        values.put("name", name);
        for (RouteTemplateParameterDefinition parameter : template.getTemplateParameters()) {
            if (parameter.getName().equals("name")) {
                continue;
            }
            if (given.containsKey(parameter.getName())) {
                values.put(parameter.getName(), given.get(parameter.getName()));
                continue;
            }
            String key = prefix + parameter.getName();
            String value = settings.optional(key).orElse(parameter.getDefaultValue());
            if (value == null && parameter.isRequired()) {
                throw new ConfigException(key, "is required (" + parameter.getDescription() + ")");
            }
            if (value != null) {
                values.put(parameter.getName(), value);
            }
        }
        checkNumbers(settings, template, prefix);
        checkKnownOptions(context, settings, template, prefix, commonOptions, given.keySet());
        TemplatedRouteBuilder builder = TemplatedRouteBuilder.builder(context, templateId).routeId(routeId);
        values.forEach(builder::parameter);
        builder.add();
        return values;
    }

    /**
     * A misspelt option, in application.properties or the environment, would be silently ignored: refuse it
     * instead. (A variable of another instance whose name starts with this one's, such as acme-eu beside acme, is its.)
     */
    private static void checkKnownOptions(CamelContext context, Settings settings, RouteTemplateDefinition template, String prefix,
            Set<String> commonOptions, Set<String> given) {
        Set<String> known = new HashSet<>(commonOptions);
        template.getTemplateParameters().forEach(p -> known.add(p.getName()));
        known.remove("name"); // the instance's name is the one in fanout.sources or fanout.sinks
        known.removeAll(given);
        for (String key : context.getPropertiesComponent().loadPropertiesAsMap().keySet().stream().map(Object::toString).toList()) {
            if (key.startsWith(prefix) && !known.contains(key.substring(prefix.length()))) {
                throw notAnOption(key, template, known);
            }
        }
        String variablePrefix = ConfigKeys.envName(prefix);
        String family = prefix.substring(0, prefix.indexOf('.', "fanout.".length()) + 1);
        List<String> longer = settings.list(family.equals("fanout.sink.") ? "fanout.sinks" : "fanout.sources").stream()
                .map(name -> ConfigKeys.envName(family + name + ".")).filter(p -> p.startsWith(variablePrefix) && !p.equals(variablePrefix)).toList();
        for (String variable : System.getenv().keySet()) {
            if (variable.startsWith(variablePrefix) && longer.stream().noneMatch(variable::startsWith)
                    && known.stream().noneMatch(option -> variable.equals(variablePrefix + ConfigKeys.envName(option)))) {
                throw notAnOption(variable + " (environment)", template, known);
            }
        }
    }

    private static ConfigException notAnOption(String key, RouteTemplateDefinition template, Set<String> known) {
        return new ConfigException(key, "is not an option of " + template.getId() + " (its options: "
                + String.join(", ", new java.util.TreeSet<>(known)) + ")");
    }

    /**
     * Parameters whose names end in -ms, -size or -bytes are whole numbers, and so are the others whose default is
     * one (a multiplier may have a fraction).
     */
    private static void checkNumbers(Settings settings, RouteTemplateDefinition template, String prefix) {
        for (RouteTemplateParameterDefinition parameter : template.getTemplateParameters()) {
            String name = parameter.getName();
            String numeric = parameter.getDefaultValue() == null ? "" : parameter.getDefaultValue();
            if (name.endsWith("multiplier")) {
                settings.decimal(prefix + name, 0, 0, Double.MAX_VALUE);
            } else if (name.endsWith("-ms") || name.endsWith("-size") || name.endsWith("-bytes") || numeric.matches("[0-9]+")) {
                settings.number(prefix + name, 0, 0, Integer.MAX_VALUE);
            }
        }
    }

    private static String knownTypes(CamelContext context) {
        return String.join(", ", context.getCamelContextExtension().getContextPlugin(Model.class)
                .getRouteTemplateDefinitions().stream().map(RouteTemplateDefinition::getId)
                .filter(id -> id.startsWith("sink-")).map(id -> id.substring(5)).sorted().toList());
    }

    /** Makes the endpoint a route starts from, with the parameters of the template it was made from, as its creation would. */
    public static void makeFirstEndpoint(CamelContext context, String routeId) {
        RouteDefinition route = context.getCamelContextExtension().getContextPlugin(Model.class).getRouteDefinition(routeId);
        Properties parameters = new Properties();
        parameters.putAll(route.getTemplateParameters());
        context.getPropertiesComponent().setLocalProperties(parameters);
        try {
            context.getEndpoint(route.getInput().getEndpointUri());
        } finally {
            context.getPropertiesComponent().setLocalProperties(null);
        }
    }

    /**
     * A sink's steps name a route of the user's, which must be there: a direct: endpoint without a route would hold
     * each message for the direct component's timeout, then fail it.
     */
    public static void checkSteps(CamelContext context, String prefix, String steps) {
        if (steps == null || steps.isBlank()) {
            return;
        }
        String wanted = withoutSlashes(steps);
        boolean found = context.getCamelContextExtension().getContextPlugin(Model.class).getRouteDefinitions().stream()
                .map(route -> route.getInput() == null ? "" : withoutSlashes(route.getInput().getEndpointUri()))
                .anyMatch(wanted::equals);
        if (!found) {
            throw new ConfigException(prefix + "steps", "is '" + steps + "', but no route in routes/ starts from it: write one"
                    + " (from: " + steps + ") or remove the property");
        }
    }

    /** direct:x and direct://x are the same endpoint. */
    private static String withoutSlashes(String uri) {
        return uri.replaceFirst("^([a-z0-9+.-]+):/*", "$1:");
    }
}
