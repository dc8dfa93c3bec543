# syntax=docker/dockerfile:1
# Loomstack: build with the JDK, run on the JRE.
#   docker build -t loomstack .
#   docker run --cap-add NET_ADMIN --device /dev/net/tun -p 8080:8080 -p 8081:8081 \
#     -v loomstack-state:/var/lib/loomstack loomstack
# NET_ADMIN and /dev/net/tun are all it needs: it creates and drives its own TUN device.

FROM eclipse-temurin:25-jdk AS build
WORKDIR /src
COPY .mvn/ .mvn/
COPY mvnw pom.xml ./
RUN ./mvnw -B -ntp -q dependency:go-offline
COPY src/ src/
RUN ./mvnw -B -ntp -q package -DskipTests \
 && cp target/loomstack-*.jar /src/loomstack.jar \
 && java -Djarmode=tools -jar /src/loomstack.jar extract --layers --destination /layers

FROM eclipse-temurin:25-jre
WORKDIR /app
# Layered: dependencies change rarely, the application often; each is its own image layer.
COPY --from=build /layers/dependencies/ ./
COPY --from=build /layers/spring-boot-loader/ ./
COPY --from=build /layers/snapshot-dependencies/ ./
COPY --from=build /layers/application/ ./
# Java 25 AOT cache (JEP 514/515) from a training run of the real service: the engine runs on a
# link to nothing (loomstack.link=memory, so no TUN device is needed at build time), the service
# starts, and exits 0 once ready through the same graceful stop as on SIGTERM, so start and stop
# are both recorded. AotTrainingRunIT runs this exact command against the packaged jar.
RUN java -XX:AOTCacheOutput=/app/loomstack.aot --enable-native-access=ALL-UNNAMED -jar loomstack.jar \
      --loomstack.link=memory --loomstack.exit-when-ready=true --server.port=0 --management.server.port=0 \
      --loomstack.state-dir=/tmp/training --loomstack.admin.token=training \
 && rm -rf /tmp/training
VOLUME /var/lib/loomstack
ENV LOOMSTACK_STATEDIR=/var/lib/loomstack
EXPOSE 8080 8081
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD bash -c 'exec 3<>/dev/tcp/127.0.0.1/8081 && printf "GET /actuator/health/liveness HTTP/1.0\r\n\r\n" >&3 && grep -q "\"UP\"" <&3'
# An OutOfMemoryError ends the JVM at once (exit code 3) rather than leaving a half-alive router
# whose threads died; the container restarts. The flag is not writeable at run time (a "product",
# not a "manageable" VM option), so it must be here.
ENTRYPOINT ["java", "-XX:+ExitOnOutOfMemoryError", "-XX:AOTCache=/app/loomstack.aot", "--enable-native-access=ALL-UNNAMED", "-jar", "/app/loomstack.jar"]
