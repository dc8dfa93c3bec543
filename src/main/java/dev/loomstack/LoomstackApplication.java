package dev.loomstack;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The Loomstack service: a userspace TCP/IP subnet router hosted in Spring Boot. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class LoomstackApplication {
    public static void main(String[] args) {
        SpringApplication.run(LoomstackApplication.class, args);
    }
}
