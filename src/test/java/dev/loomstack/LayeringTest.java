package dev.loomstack;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.CompositeArchRule;
import dev.loomstack.engine.RouterControl;
import java.lang.reflect.Executable;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The layering of the packages (README, "Layout"), checked on the compiled main classes: each
 * package depends only on the packages below it, the stack and the engine never see Spring, the
 * admin API sees the engine only through {@link RouterControl}, and no two packages depend on each
 * other, without exceptions.
 */
@AnalyzeClasses(packages = "dev.loomstack", importOptions = ImportOption.DoNotIncludeTests.class)
class LayeringTest {
    private static final String ROOT = "dev.loomstack";

    /**
     * Bottom to top; packages on one level are siblings and do not depend on each other. {@code ip}
     * builds on {@code stack} (it registers as the stack's network protocols), while {@code tcp} and
     * {@code udp} need only the stack's seams, not {@code ip}. {@code dns} is a stack-side service on
     * {@code net} and {@code udp} that the engine hosts. {@code config} holds what the service is
     * configured with (properties, the persisted netmap and limits in {@code state.json}'s own JSON
     * format, the admin token) and runs the engine; the admin API, which converts its documents to
     * the engine's values, and the metrics are served on top of it. The application class itself is the top.
     */
    private static final List<List<String>> LEVELS = List.of(
            List.of("packet"),
            List.of("link"),
            List.of("stack"),
            List.of("ip", "wireguard"),
            List.of("tcp", "udp"),
            List.of("net"),
            List.of("dns"),
            List.of("engine"),
            List.of("config"),
            List.of("api", "metrics"));

    /** Where Spring may appear: the service around the stack and the engine. */
    private static final List<String> SPRING_PACKAGES = List.of("config", "api", "metrics");

    @ArchTest
    static final ArchRule everyClassLivesInALayer = classes()
            .should().resideInAnyPackage(Stream.concat(
                    LEVELS.stream().flatMap(List::stream).map(LayeringTest::tree),
                    Stream.of(ROOT)).toArray(String[]::new))
            .because("a new package needs its place in the layering");

    @ArchTest
    static final ArchRule eachLayerDependsOnlyOnLayersBelowIt = layerRules();

    @ArchTest
    static final ArchRule nothingDependsOnTheApplicationClass = noClasses()
            .that().resideOutsideOfPackage(ROOT)
            .should().dependOnClassesThat().resideInAPackage(ROOT);

    @ArchTest
    static final ArchRule stackAndEngineNeverSeeSpring = noClasses()
            .that().resideInAPackage(ROOT + "..")
            .and().resideOutsideOfPackages(Stream.concat(
                    SPRING_PACKAGES.stream().map(LayeringTest::tree), Stream.of(ROOT)).toArray(String[]::new))
            .should().dependOnClassesThat().resideInAPackage("org.springframework..")
            .because("the stack is a library that the service hosts; Spring lives in "
                    + String.join(", ", SPRING_PACKAGES));

    @ArchTest
    static final ArchRule apiSeesTheEngineOnlyThroughRouterControl = noClasses()
            .that().resideInAPackage(tree("api"))
            .should().dependOnClassesThat(resideInAPackage(tree("engine"))
                    .and(not(belongToAnyOf(controlSurface().toArray(Class<?>[]::new))))
                    .as("are engine classes other than RouterControl and the values it takes and returns "
                            + controlSurface().stream().map(Class::getSimpleName).toList()))
            .because("the admin API must work against any RouterControl, running or not");

    @ArchTest
    static final ArchRule noCyclesBetweenPackages = slices()
            .matching(ROOT + ".(*)..")
            .should().beFreeOfCycles();

    private static ArchRule layerRules() {
        List<ArchRule> rules = new ArrayList<>();
        for (int level = 0; level < LEVELS.size(); level++) {
            List<String> notBelow = new ArrayList<>();
            for (int above = level; above < LEVELS.size(); above++) {
                notBelow.addAll(LEVELS.get(above));
            }
            for (String layer : LEVELS.get(level)) {
                List<String> forbidden = notBelow.stream().filter(p -> !p.equals(layer)).toList();
                if (forbidden.isEmpty()) {
                    continue;
                }
                DescribedPredicate<JavaClass> target =
                        resideInAnyPackage(forbidden.stream().map(LayeringTest::tree).toArray(String[]::new));
                rules.add(noClasses().that().resideInAPackage(tree(layer))
                        .should().dependOnClassesThat(target.as("reside in " + String.join(", ", forbidden))));
            }
        }
        return CompositeArchRule.of(rules)
                .as("each package depends only on the packages below it: " + LEVELS);
    }

    /**
     * {@link RouterControl} and, transitively, the engine types its public methods and those of the
     * values it takes and returns mention: what the API may know of the engine.
     */
    static Set<Class<?>> controlSurface() {
        Set<Class<?>> surface = new LinkedHashSet<>();
        Deque<Type> todo = new ArrayDeque<>(List.of(RouterControl.class));
        while (!todo.isEmpty()) {
            switch (todo.pop()) {
                case Class<?> c when c.isArray() -> todo.push(c.getComponentType());
                case Class<?> c -> {
                    if (c.getPackageName().equals(RouterControl.class.getPackageName()) && surface.add(c)) {
                        for (Method m : c.getMethods()) {
                            if (m.getDeclaringClass() == c) {
                                todo.push(m.getGenericReturnType());
                                todo.addAll(List.of(m.getGenericParameterTypes()));
                            }
                        }
                        for (Executable ctor : c.getConstructors()) {
                            todo.addAll(List.of(ctor.getGenericParameterTypes()));
                        }
                        for (Class<?> nested : c.getClasses()) {
                            if (Modifier.isPublic(nested.getModifiers())) {
                                todo.push(nested);
                            }
                        }
                    }
                }
                case ParameterizedType p -> {
                    todo.push(p.getRawType());
                    todo.addAll(List.of(p.getActualTypeArguments()));
                }
                case WildcardType w -> {
                    todo.addAll(List.of(w.getUpperBounds()));
                    todo.addAll(List.of(w.getLowerBounds()));
                }
                case GenericArrayType a -> todo.push(a.getGenericComponentType());
                default -> {} // type variables: bounded by what is already listed
            }
        }
        return surface;
    }

    private static String tree(String layer) {
        return ROOT + "." + layer + "..";
    }
}
